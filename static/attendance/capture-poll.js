// The capture page while its photo is queued or processing: poll the status and reload when done.
// A static file, not inline: the site's Content-Security-Policy runs scripts from files only.
"use strict";
(function poll() {
  const line = document.getElementById("capture-progress");
  if (!line) return;
  fetch(line.dataset.statusUrl, {credentials: "same-origin"}).then((r) => r.json()).then((s) => {
    if (s.finished) { window.location.reload(); return; }
    line.textContent = "This photo is " + s.state_display.toLowerCase() + "; this page updates when it is done.";
    setTimeout(poll, 1000);
  }).catch(() => setTimeout(poll, 2000));
})();
