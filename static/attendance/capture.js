// The capture panel of a session page: a photo from the phone's camera, chosen files or a webcam
// frame, then live progress. Unfinished captures are polled through their small JSON status
// endpoint; when one finishes, the page's live regions (photos, roster, header, audit trail) are
// swapped for fresh server-rendered HTML by live.js (no reload, the camera keeps running).
(function () {
  "use strict";
  const POLL_MS = 1000;
  let timer = null;

  function csrfToken() {
    const input = document.querySelector("#capture-panel input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Progress goes to a polite status line; a refusal to an alert line, styled as an error.
  function say(text) {
    const line = document.getElementById("capture-message");
    if (!line) return;
    line.textContent = text;
    line.classList.remove("msg-warning");
  }

  function fail(text) {
    const line = document.getElementById("capture-error");
    if (line) line.textContent = text;
  }

  function unfinished() {
    return Array.from(document.querySelectorAll("#captures .capture")).filter(
      (row) => row.dataset.state === "queued" || row.dataset.state === "processing"
    );
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
      await window.RollCall.refresh();
      say(finishedMessage());
      const line = document.getElementById("capture-message");
      if (line) line.classList.toggle("msg-warning", !!document.querySelector("#captures .capture:first-child [data-role=no-faces]"));
    } else {
      schedule();
    }
  }

  function finishedMessage() {
    const latest = document.querySelector("#captures .capture");
    if (!latest) return "";
    if (latest.dataset.state === "failed") return "";
    // No faces (or only too small ones): say the row's advice, not "the roster is updated".
    const warning = latest.querySelector("[data-role=no-faces]");
    if (warning) return "Photo #" + latest.dataset.capture + " is done. " + warning.textContent.trim();
    return "Photo #" + latest.dataset.capture + " is done: the roster below is updated.";
  }

  function schedule() {
    if (!timer && unfinished().length) timer = setTimeout(poll, POLL_MS);
  }

  async function send(url, formData) {
    fail("");
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
    say(body.message || "");
    if (errors.length) fail(errors.join(" "));
    if (body.job_url) {
      // Several photos became a background job: its page shows the progress and the report.
      window.location.assign(body.job_url);
      return;
    }
    if (body.captures && body.captures.length) await window.RollCall.refresh();
  }

  function setUpUpload() {
    const form = document.getElementById("capture-upload");
    if (!form) return;
    const upload = async () => {
      say("Uploading…");
      await send(form.action, new FormData(form));
      form.reset();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      upload();
    });
    // A photo taken or chosen is sent at once: one tap, no separate "Upload" button.
    form.querySelectorAll("input[type=file]").forEach((input) =>
      input.addEventListener("change", () => {
        if (input.files.length) upload();
      })
    );
  }

  function setUpWebcam() {
    const box = document.getElementById("webcam");
    if (!box) return;
    const start = document.getElementById("webcam-start");
    const shoot = document.getElementById("webcam-shoot");
    const video = document.getElementById("webcam-video");
    const note = document.getElementById("webcam-note");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = "This browser offers no camera here; use Take class photo instead.";
      start.hidden = true;
      return;
    }
    start.addEventListener("click", async () => {
      try {
        // On a phone the rear camera faces the class; a laptop has only one and ignores this.
        const stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "environment", width: { ideal: 1920 }, height: { ideal: 1080 } },
          audio: false,
        });
        video.srcObject = stream;
        video.hidden = false;
        shoot.hidden = false;
        start.hidden = true;
        note.textContent = "Camera on. Take a photo when the class is in view.";
      } catch (error) {
        note.textContent = "The camera could not be started (" + error.name + "); use Take class photo instead.";
      }
    });
    shoot.addEventListener("click", () => {
      if (!video.videoWidth) {
        fail("The camera has no picture yet; try again in a moment.");
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
  // A refresh brings new capture rows (an upload, another teacher's photo): poll them too.
  document.addEventListener("rollcall:refreshed", schedule);
})();
