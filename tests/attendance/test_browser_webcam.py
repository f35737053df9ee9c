"""The webcam page in a real browser: headless Chromium (Debian's package) driven by Playwright,
with a fake camera that films a class photo of LFW people. A real worker processes the frame."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from attendance.models import Capture
from tests.support.faces import (
    CLASS,
    STRANGER,
    enroll_with_photos,
    lfw_photo,
)

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]
# Playwright's sync API runs an event loop in this thread; the ORM calls between its steps are
# plain synchronous code, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def camera_file(tmp_path) -> Path:
    """A y4m "video" of a class photo: three enrolled people and a stranger."""
    from benchmarks.synth import compose_class_photo, write_y4m

    people = [(p, lfw_photo(p, 4)) for p in [*CLASS[:3], STRANGER]]
    photo = compose_class_photo(people, width=1280, height=720, seed=11)
    return write_y4m(photo.rgb(), tmp_path / "class.y4m")


@pytest.fixture
def browser(camera_file):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={camera_file}",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def test_a_teacher_takes_attendance_with_the_webcam_in_a_real_browser(
    celery_worker, live_server, browser, admin_user, alice
):
    room = enroll_with_photos(admin_user, alice, CLASS)

    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["camera"], origin=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-pass-1")
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"/sessions/{room.session.pk}/")
    page.click("#webcam summary")  # the webcam sits behind "Use a webcam instead"
    page.click("#webcam-start")
    page.wait_for_selector("#webcam-shoot:not([hidden])")
    page.wait_for_function("() => document.getElementById('webcam-video').videoWidth > 0")
    page.click("#webcam-shoot")

    # No reload: the page polls the capture's status and swaps in the new roster by itself.
    for person in CLASS[:3]:
        row = f"#roster li[data-student='{room.student(person).pk}'][data-status='present']"
        page.wait_for_selector(row, timeout=180_000)
    for person in CLASS[3:]:
        row = page.locator(f"#roster li[data-student='{room.student(person).pk}']")
        assert "not marked" in row.inner_text()
    assert page.locator("#captures .capture[data-state='done']").count() == 1
    assert page.get_by_text("Colin Powell").count() >= 2  # the audit trail was refreshed too

    capture = Capture.objects.get()
    assert (capture.source, capture.state, capture.width) == ("webcam", "done", 1280)
    page.goto(f"/captures/{capture.pk}/")
    assert page.locator("#face-boxes rect.box").count() == 4
    assert page.locator("#face-list .face-card[data-decision='unknown']").count() == 1
    context.close()
