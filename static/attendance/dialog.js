// The course page's form dialogs ("Add a session", "Generate weekly sessions"): a button with
// data-dialog="<id>" opens that <dialog> as a modal, focus goes to its first field, Tab and
// Shift+Tab stay inside, Escape or Cancel closes it and focus goes back to the button. A link to
// "#<id>" (the term preview's Back) opens it too. Without JavaScript the dialogs are plain cards
// on the page (app.css) and their forms post as ever. No inline script or style (CSP).
(function () {
  "use strict";
  const FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex='0']";
  let opener = null;

  function visible(element) {
    return element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden";
  }

  function focusables(dialog) {
    return [...dialog.querySelectorAll(FOCUSABLE)].filter(visible);
  }

  function open(dialog, from) {
    if (!dialog || dialog.open) return;
    opener = from || document.activeElement;
    dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]), select, textarea") || focusables(dialog)[0];
    if (first) first.focus();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-dialog]");
    if (button) {
      open(document.getElementById(button.dataset.dialog), button);
      return;
    }
    const cancel = event.target.closest("dialog.form-dialog [data-dialog-close]");
    if (cancel) cancel.closest("dialog").close();
  });

  // The browser keeps focus in a modal dialog and the page but may let Tab reach its own toolbar;
  // a dialog that keeps Tab to itself is what a keyboard user expects.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const dialog = document.querySelector("dialog.form-dialog[open]");
    if (!dialog) return;
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const outside = !dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || outside)) {
      last.focus();
      event.preventDefault();
    } else if (!event.shiftKey && (document.activeElement === last || outside)) {
      first.focus();
      event.preventDefault();
    }
  });

  document.querySelectorAll("dialog.form-dialog").forEach((dialog) => {
    dialog.addEventListener("close", () => {
      const back = opener && opener.isConnected ? opener : document.querySelector(`[data-dialog="${dialog.id}"]`);
      opener = null;
      if (back) back.focus();
    });
  });

  const fromLink = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (fromLink && fromLink.matches("dialog.form-dialog")) {
    open(fromLink, document.querySelector(`[data-dialog="${fromLink.id}"]`));
  }
})();
