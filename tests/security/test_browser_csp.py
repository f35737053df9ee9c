"""The Content-Security-Policy in a real browser (headless Chromium through Playwright): Swagger UI
and the app's pages work under it, and the browser reports no blocked script or style."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see test_browser_webcam


@pytest.fixture
def page(live_server, alice):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(base_url=live_server.url).new_page()
            page.violations = []
            page.on(
                "console",
                lambda m: "Content Security Policy" in m.text and page.violations.append(m.text),
            )
            page.goto("/accounts/login/")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "alice-pass-1")
            page.click("button[type=submit]")
            page.wait_for_url("**/")
            yield page
        finally:
            browser.close()


def test_swagger_ui_draws_every_operation_under_the_policy(page):
    page.goto("/api/docs/")

    page.wait_for_selector(".opblock", timeout=20_000)

    assert page.locator(".opblock").count() >= 20
    assert page.violations == []


def test_the_session_page_with_the_capture_panel_runs_under_the_policy(
    page, alice, course, session
):
    page.goto(f"/sessions/{session.pk}/")
    page.wait_for_load_state("load")

    assert page.locator("#webcam-start").count() == 1
    assert page.violations == []


def test_an_injected_inline_handler_does_not_run_and_is_reported(page):
    page.goto("/")

    injected = '<img src=/nowhere onerror="window.pwned=1">'
    page.evaluate(f"document.body.insertAdjacentHTML('beforeend', '{injected}')")
    page.wait_for_timeout(500)

    assert page.evaluate("window.pwned") is None
    assert len(page.violations) == 1


def test_the_admin_works_under_the_policy(page, admin_user, course):
    page.context.clear_cookies()
    page.goto("/admin/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin-pass-1")
    page.click("input[type=submit]")
    page.goto(f"/admin/attendance/course/{course.pk}/change/")

    page.wait_for_selector("#id_teachers_from")  # drawn by the admin's script (filter_horizontal)

    assert page.violations == []
