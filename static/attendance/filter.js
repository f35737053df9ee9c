// A search box that narrows a list of checkboxes (the enrol dialog): typing hides the students
// whose label does not contain the text; ticked ones stay visible.
document.querySelectorAll("input[data-filter]").forEach(function (box) {
  const list = document.querySelector(box.dataset.filter);
  if (!list) return;
  box.addEventListener("input", function () {
    const text = box.value.trim().toLowerCase();
    list.querySelectorAll("label").forEach(function (label) {
      const input = label.querySelector("input");
      const match = !text || label.textContent.toLowerCase().includes(text);
      label.closest("div") ? (label.closest("div").hidden = !(match || (input && input.checked)))
                           : (label.hidden = !(match || (input && input.checked)));
    });
  });
});
