// The capture panel of a session page: upload or webcam frame, then live progress.
// Unfinished captures are polled through their small JSON status endpoint; when they finish, the
// panel and the roster are replaced by fresh server-rendered HTML (no manual reload).
(function () {
  "use strict";
  const POLL_MS = 1000;
  let timer = null;

  function csrfToken() {
    const input = document.querySelector("#capture-panel input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(text, isError) {
    const line = document.getElementById("capture-message");
    if (!line) return;
    line.textContent = text;
    line.className = isError ? "msg-error" : "muted";
  }

  function unfinished() {
    return Array.from(document.querySelectorAll("#captures tr.capture")).filter(
      (row) => row.dataset.state === "queued" || row.dataset.state === "processing"
    );
  }

  async function refresh() {
    // Swap in the server's current panel and roster: one source of truth for how they look.
    const panel = document.getElementById("capture-panel");
    const response = await fetch(panel.dataset.refreshUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("captures");
    const current = document.getElementById("captures");
    if (fresh && current) current.replaceWith(fresh);
    else if (fresh) panel.appendChild(fresh);
    // The page's other tables (roster, audit trail): swapped one for one, outside the panel, so
    // the live camera in the panel keeps running.
    const outside = (doc) =>
      Array.from(doc.querySelectorAll("main table")).filter((t) => !t.closest("#capture-panel"));
    const now = outside(document);
    const next = outside(page);
    if (now.length === next.length) now.forEach((table, i) => table.replaceWith(next[i]));
    schedule();
  }

  async function poll() {
    timer = null;
    let finished = false;
    for (const row of unfinished()) {
      try {
        const response = await fetch(row.dataset.statusUrl, { credentials: "same-origin" });
        if (!response.ok) continue;
        const status = await response.json();
        const badge = row.querySelector("[data-role=state]");
        if (badge && status.state !== row.dataset.state) {
          badge.textContent = status.state_display;
          badge.className = "badge " + status.state;
        }
        const note = row.querySelector("[data-role=note]");
        if (note && status.state !== "queued") note.remove();
        row.dataset.state = status.state;
        if (status.finished) finished = true;
      } catch (error) {
        // The server is briefly unreachable: keep polling.
      }
    }
    if (finished) {
      await refresh();
    } else {
      schedule();
    }
  }

  function schedule() {
    if (!timer && unfinished().length) timer = setTimeout(poll, POLL_MS);
  }

  async function send(url, formData) {
    const response = await fetch(url, {
      method: "POST",
      body: formData,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    const errors = (body.errors || []).map((e) => (e.file ? e.file + ": " : "") + e.message);
    if (body.error) errors.push(body.error.message);
    if (!response.ok && !errors.length) errors.push("The upload failed (HTTP " + response.status + ").");
    if (body.message) say(body.message + (errors.length ? " " + errors.join(" ") : ""), !!errors.length);
    else if (errors.length) say(errors.join(" "), true);
    if (body.job_url) {
      // Several photos became a background job: its page shows the progress and the report.
      window.location.assign(body.job_url);
      return;
    }
    if (body.captures && body.captures.length) await refresh();
  }

  function setUpUpload() {
    const form = document.getElementById("capture-upload");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say("Uploading…");
      await send(form.action, new FormData(form));
      form.reset();
    });
  }

  function setUpWebcam() {
    const box = document.getElementById("webcam");
    if (!box) return;
    const start = document.getElementById("webcam-start");
    const shoot = document.getElementById("webcam-shoot");
    const video = document.getElementById("webcam-video");
    const note = document.getElementById("webcam-note");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = "This browser offers no camera here; upload a photo instead.";
      start.hidden = true;
      return;
    }
    start.addEventListener("click", async () => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 1920 }, height: { ideal: 1080 } },
          audio: false,
        });
        video.srcObject = stream;
        video.hidden = false;
        shoot.hidden = false;
        start.hidden = true;
        note.textContent = "Camera on. Take a photo when the class is in view.";
      } catch (error) {
        note.textContent = "The camera could not be started (" + error.name + "); upload a photo instead.";
      }
    });
    shoot.addEventListener("click", () => {
      if (!video.videoWidth) {
        say("The camera has no picture yet; try again in a moment.", true);
        return;
      }
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      say("Sending the photo…");
      canvas.toBlob(
        async (blob) => {
          const data = new FormData();
          data.append("frame", blob, "webcam.jpg");
          await send(box.dataset.uploadUrl, data);
        },
        "image/jpeg",
        0.92
      );
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpUpload();
    setUpWebcam();
    schedule();
  });
})();
