// Forms with data-confirm="Question?" ask before they submit (destructive actions).
// A static file, not an inline onsubmit=: the site's Content-Security-Policy runs scripts from files only.
"use strict";
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});
