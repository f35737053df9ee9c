// Forms that change a page in place. Every page form posts and redirects without
// JavaScript; with it, a form marked data-live-form is sent with fetch (Accept: JSON, so the view
// answers {"message"} or {"error"}), then the page's [data-live] regions are swapped for the
// server's fresh HTML: one source of truth for how they look, the scroll position stays, and a
// short toast beside the row offers Undo. No inline script or style anywhere (CSP).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const TOAST_MS = 8000;

  function csrfToken(form) {
    const input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Replace every [data-live] element by the one with the same id in the server's current page.
  async function refresh() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live][id]").forEach((region) => {
      const fresh = page.getElementById(region.id);
      if (fresh) region.replaceWith(document.importNode(fresh, true));
    });
    document.dispatchEvent(new CustomEvent("rollcall:refreshed"));
  }

  function keyOf(element) {
    const scope = element && element.closest("[data-key]");
    return scope ? scope.dataset.key : null;
  }

  function toast(key, text, { error = false, undo = null } = {}) {
    const scope = key && document.querySelector(`[data-key="${key}"]`);
    const box = document.createElement("div");
    box.className = "toast" + (error ? " error" : "");
    box.setAttribute("role", error ? "alert" : "status");
    const words = document.createElement("span");
    words.textContent = text;
    box.appendChild(words);
    if (undo) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Undo";
      button.addEventListener("click", () => {
        box.remove();
        undo();
      });
      box.appendChild(button);
    }
    const home = scope || document.querySelector("main");
    home.appendChild(box);
    setTimeout(() => box.remove(), TOAST_MS);
    return box;
  }

  // POST a form's fields (plus the pressed button's name=value); answers the JSON body.
  async function post(url, data, token) {
    const response = await fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = body.error ? body.error.message : `Nothing was changed (HTTP ${response.status}).`;
      throw new Error(message);
    }
    return body;
  }

  // How to take a change back. The server says it for confirm, assign and marks ({"undo": {url,
  // fields}}: it alone knows whether a mark was the student's first); a form marked data-undo
  // (the remark) posts itself again with the field's previous value.
  function undoFor(form, data, answer) {
    let action = form.action;
    let again = null;
    if (answer && answer.undo) {
      action = answer.undo.url;
      again = new FormData();
      for (const [name, value] of Object.entries(answer.undo.fields)) again.append(name, value);
    } else if (form.dataset.undo) {
      again = new FormData();
      for (const [name, value] of data.entries()) again.append(name, value);
      again.set(form.dataset.undo, form.dataset.was || "");
    }
    if (!again) return null;
    const token = csrfToken(form);
    const key = keyOf(form);
    return async () => {
      try {
        const body = await post(action, again, token);
        await refresh();
        toast(key, "Undone. " + (body.message || ""));
      } catch (error) {
        toast(key, error.message, { error: true });
      }
    };
  }

  async function sendLive(form, submitter) {
    const data = new FormData(form, submitter || undefined);
    const key = keyOf(form);
    const focusName = submitter ? `${submitter.name}=${submitter.value}` : null;
    form.setAttribute("aria-busy", "true");
    try {
      const body = await post(form.action, data, csrfToken(form));
      const undo = undoFor(form, data, body);
      await refresh();
      restoreFocus(key, focusName);
      toast(key, body.message || "Saved.", { undo });
    } catch (error) {
      form.removeAttribute("aria-busy");
      toast(key, error.message, { error: true });
    }
  }

  // The pressed button was replaced with the region: focus its twin so a keyboard user stays put.
  function restoreFocus(key, focusName) {
    if (!key || !focusName) return;
    const [name, value] = focusName.split("=");
    const scope = document.querySelector(`[data-key="${key}"]`);
    const twin = scope && scope.querySelector(`button[name="${name}"][value="${value}"]`);
    if (twin) twin.focus({ preventScroll: true });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      // Said yes here: the server need not ask again (without JavaScript it does, on a page).
      if (!form.querySelector("input[name=confirm]")) {
        const yes = document.createElement("input");
        yes.type = "hidden";
        yes.name = "confirm";
        yes.value = "yes";
        form.appendChild(yes);
      }
    }
    if (!("liveForm" in form.dataset)) return;
    event.preventDefault();
    sendLive(form, event.submitter);
  });

  window.RollCall = { refresh, toast };
})();
