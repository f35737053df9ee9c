// The review page of one class photo: live progress until the worker is done, a numbered box and
// its face card select each other, and the student picker filters as you type.
(function () {
  "use strict";

  function pollProgress() {
    const line = document.getElementById("capture-progress");
    if (!line) return;
    const tick = () =>
      fetch(line.dataset.statusUrl, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((s) => {
          // Done: the whole page changes (photo size, boxes, faces), so load it once afresh.
          if (s.finished) return window.location.reload();
          line.textContent = "This photo is " + s.state_display.toLowerCase() + "; this page updates when it is done.";
          setTimeout(tick, 1000);
        })
        .catch(() => setTimeout(tick, 2000));
    tick();
  }

  // The photo full screen in a modal <dialog>: the rest of the page is inert while it is open,
  // Tab cycles inside it, Escape or Close shuts it and focus goes back to what opened it. The
  // stage holds a fresh copy of the figure (boxes included), sized by the zoom factor.
  const lightbox = (function () {
    const ZOOMS = [1, 1.5, 2, 3, 4, 6];
    let zoom = 1;
    let opener = null;
    let skipReturn = false;
    const dialog = () => document.getElementById("photo-lightbox");
    const stage = () => document.getElementById("lightbox-stage");

    function setZoom(next) {
      const area = stage();
      const figure = area && area.querySelector(".capture-figure");
      if (!figure) return;
      // Keep the middle of what is shown in the middle.
      const middleX = (area.scrollLeft + area.clientWidth / 2) / area.scrollWidth;
      const middleY = (area.scrollTop + area.clientHeight / 2) / area.scrollHeight;
      zoom = Math.min(6, Math.max(1, next));
      const img = figure.querySelector("img");
      const ratio = img.naturalWidth ? img.naturalWidth / img.naturalHeight : img.width / img.height;
      // At 1 the whole photo fits the stage; CSSOM sizes are allowed by the CSP, style= is not.
      const fit = Math.min(area.clientWidth, area.clientHeight * ratio);
      figure.style.width = Math.round(fit * zoom) + "px";
      area.scrollLeft = middleX * area.scrollWidth - area.clientWidth / 2;
      area.scrollTop = middleY * area.scrollHeight - area.clientHeight / 2;
      document.getElementById("lightbox-zoom").textContent = Math.round(zoom * 100) + "%";
    }

    function step(direction) {
      const next = direction > 0 ? ZOOMS.find((z) => z > zoom + 0.01) : [...ZOOMS].reverse().find((z) => z < zoom - 0.01);
      setZoom(next || zoom);
    }

    // On the page the boxes are a picture (aria-hidden; the face cards are the way in by
    // keyboard). Full screen they are the way in: each a button named "Face N: <who>", reached
    // by Tab, pressed with Enter or Space (the keydown below).
    function makeBoxesButtons(figure) {
      const svg = figure.querySelector("svg");
      if (!svg) return;
      svg.removeAttribute("aria-hidden");
      svg.setAttribute("role", "group");
      svg.setAttribute("aria-label", "Numbered faces");
      svg.querySelectorAll("g[data-face]").forEach((g) => {
        g.setAttribute("role", "button");
        g.setAttribute("tabindex", "0");
        g.setAttribute("aria-label", g.dataset.label);
      });
    }

    function open(from) {
      const box = dialog();
      const figure = document.getElementById("capture-figure");
      if (!box || !figure || box.open) return;
      opener = from || document.activeElement;
      const copy = figure.cloneNode(true);
      copy.removeAttribute("id");
      copy.querySelectorAll("[id]").forEach((el) => el.removeAttribute("id"));
      makeBoxesButtons(copy);
      stage().replaceChildren(copy);
      box.showModal();
      setZoom(1);
      box.querySelector("[data-lightbox-close]").focus();
    }

    // returnFocus false: the caller moves focus itself (a tapped box focuses its face card).
    function close({ returnFocus = true } = {}) {
      const box = dialog();
      if (!returnFocus) opener = null;
      skipReturn = !returnFocus;
      if (box && box.open) box.close();
    }

    document.addEventListener("click", (event) => {
      const button = event.target.closest("#photo-lightbox [data-zoom], #photo-lightbox [data-lightbox-close]");
      if (!button) return;
      if (button.dataset.zoom === "in") step(1);
      else if (button.dataset.zoom === "out") step(-1);
      else if (button.dataset.zoom === "fit") setZoom(1);
      else close();
    });

    document.addEventListener("keydown", (event) => {
      const box = dialog();
      if (!box || !box.open) return;
      if (event.key === "+" || event.key === "=") step(1);
      else if (event.key === "-") step(-1);
      else if (event.key === "0") setZoom(1);
      else if (event.key === "Tab") {
        const focusable = [...box.querySelectorAll("button, [tabindex='0']")];
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        if (event.shiftKey && document.activeElement === first) {
          last.focus();
          event.preventDefault();
        } else if (!event.shiftKey && document.activeElement === last) {
          first.focus();
          event.preventDefault();
        }
        return;
      } else return;
      event.preventDefault();
    });

    // Two fingers on the stage zoom the photo (the stage itself only pans).
    let pinch = null;
    const spread = (touches) => Math.hypot(touches[0].clientX - touches[1].clientX, touches[0].clientY - touches[1].clientY);
    document.addEventListener("touchstart", (event) => {
      if (event.touches.length === 2 && event.target.closest("#lightbox-stage")) {
        pinch = { distance: spread(event.touches), zoom };
      }
    }, { passive: true });
    document.addEventListener("touchmove", (event) => {
      if (!pinch || event.touches.length !== 2) return;
      event.preventDefault();
      setZoom(pinch.zoom * (spread(event.touches) / pinch.distance));
    }, { passive: false });
    document.addEventListener("touchend", (event) => {
      if (event.touches.length < 2) pinch = null;
    });

    document.addEventListener("DOMContentLoaded", () => {
      const box = dialog();
      if (!box) return;
      box.addEventListener("close", () => {
        stage().replaceChildren();
        const back = opener && opener.isConnected ? opener : document.getElementById("lightbox-open");
        if (back && !skipReturn) back.focus();
        opener = null;
        skipReturn = false;
      });
    });

    return { open, close };
  })();

  function select(faceId, { scroll }) {
    document.querySelectorAll(".face-card.selected, #face-boxes g.selected").forEach((el) => el.classList.remove("selected"));
    const card = document.getElementById("face-" + faceId);
    const box = document.querySelector(`#face-boxes g[data-face="${faceId}"]`);
    if (box) box.classList.add("selected");
    if (!card) return;
    card.classList.add("selected");
    if (scroll) {
      card.scrollIntoView({ behavior: "smooth", block: "nearest" });
      card.focus({ preventScroll: true });
    }
  }

  document.addEventListener("click", (event) => {
    const inLightbox = event.target.closest("#photo-lightbox");
    const box = event.target.closest("#face-boxes g[data-face], #photo-lightbox g[data-face]");
    if (box) {
      if (inLightbox) lightbox.close({ returnFocus: false });
      select(box.dataset.face, { scroll: true });
      return;
    }
    if (inLightbox) return;
    if (event.target.closest("#lightbox-open, #capture-figure")) {
      lightbox.open(event.target.closest("#lightbox-open") || document.getElementById("lightbox-open"));
      return;
    }
    const card = event.target.closest(".face-card");
    if (card && !event.target.closest("form")) select(card.dataset.face, { scroll: false });
  });
  // A box of the photo full screen is a button: Enter or Space selects its face card.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const box = event.target.closest && event.target.closest("#photo-lightbox g[data-face]");
    if (!box) return;
    event.preventDefault();
    lightbox.close({ returnFocus: false });
    select(box.dataset.face, { scroll: true });
  });
  document.addEventListener("focusin", (event) => {
    const card = event.target.closest && event.target.closest(".face-card");
    if (card) select(card.dataset.face, { scroll: false });
  });

  // Type part of a name: the picker keeps the matching students and selects the first one.
  document.addEventListener("input", (event) => {
    const search = event.target;
    if (!search.dataset || !search.dataset.filter) return;
    const picker = document.getElementById(search.dataset.filter);
    if (!picker) return;
    const words = search.value.trim().toLowerCase();
    let first = null;
    for (const option of picker.options) {
      const match = !words || option.value === "" || option.text.toLowerCase().includes(words);
      option.hidden = !match;
      if (match && option.value && !first) first = option;
    }
    if (words && first) picker.value = first.value;
  });

  document.addEventListener("DOMContentLoaded", pollProgress);
})();
