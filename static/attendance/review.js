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
    const box = event.target.closest("#face-boxes g[data-face]");
    if (box) {
      select(box.dataset.face, { scroll: true });
      return;
    }
    const card = event.target.closest(".face-card");
    if (card && !event.target.closest("form")) select(card.dataset.face, { scroll: false });
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
