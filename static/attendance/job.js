// A background job's page: poll its status URL, move the progress bar, and reload the page once
// the job has finished so that the server draws the report. No inline script (CSP).
(function () {
  "use strict";
  const POLL_MS = 1000;
  const box = document.getElementById("job");
  if (!box) return;
  const state = document.getElementById("job-state");
  const progress = document.getElementById("job-progress");
  const bar = document.getElementById("job-bar");

  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const status = await response.json();
        state.textContent = status.state;
        state.className = "badge " + status.state;
        progress.textContent = status.done + " of " + status.total;
        bar.value = status.percent;
        // Reload once the job has finished, and again once the face checks of the photos it
        // added are done (the page shows each photo's result).
        const pending = Number(box.dataset.photosPending || 0);
        if ((status.finished && box.dataset.state !== "done" && box.dataset.state !== "failed")
            || (status.finished && status.photos_pending !== pending)) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The server is briefly unreachable: keep polling.
    }
    setTimeout(poll, POLL_MS);
  }

  setTimeout(poll, POLL_MS);
})();
