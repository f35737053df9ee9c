"""A school admin's flow in a real browser (Debian's Chromium, Playwright): invite a teacher who
sets a password from the emailed link, import a roster after its preview, enrol students,
generate a term around a holiday, export the course grid as XLSX. Every page on the way passes
axe-core's WCAG 2 A/AA rules, and the same pages fit a 390 px phone with thumb-sized controls.

The import job is run by the test thread, as the worker would (tests/attendance/test_import.py
does the same): no face models are loaded, so the walk stays quick."""

from __future__ import annotations

import re
from datetime import date, time

import openpyxl
import pytest
from django.core import mail
from django.core.files.base import ContentFile

from attendance.models import Capture, ClassSession, Holiday, Job, Student
from attendance.services import courses as course_services
from attendance.services import jobs as job_services
from tests.attendance.test_browser_phone import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    browser,  # noqa: F401 (the fixture)
    check_page,
    open_page,
)
from tests.conftest import jpeg_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

ROSTER = """student_number,name,email,courses,consent
S301,Émilie du Châtelet,emilie@example.edu,,yes
S302,Srinivasa Ramanujan,,,no
S303,Bad Email,not-an-email,,no
"""


def open_slow_page(browser, live_server, options: dict):  # noqa: F811 (browser: the fixture)
    """A page that waits up to 90 s for each step: a loaded 2-core machine is slow to answer."""
    page = open_page(browser, live_server, options)
    page.set_default_timeout(90_000)
    return page


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_an_admin_runs_a_school_from_the_app(live_server, browser, admin_user, course, tmp_path):  # noqa: F811
    Holiday.objects.create(date=date(2026, 9, 16), name="School trip")
    page = open_slow_page(browser, live_server, DESKTOP)
    log_in(page, "admin", "admin-pass-1")
    visited = []

    # Invite a teacher; she chooses her password from the emailed link.
    page.click("nav >> text=Teachers")
    check_page(page, False, "teachers")
    page.click("text=Invite a teacher")
    check_page(page, False, "invite form")
    visited += ["/teachers/", "/teachers/new/"]
    page.fill("input[name=full_name]", "Dora Diaz")
    page.fill("input[name=email]", "dora@school.edu")
    page.fill("input[name=username]", "dora")
    page.check("input[name=role][value=teacher]")
    page.click("button:has-text('Send invitation')")
    page.wait_for_selector("text=Invitation sent to dora@school.edu")
    assert [m.to for m in mail.outbox] == [["dora@school.edu"]]
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    guest = open_slow_page(browser, live_server, DESKTOP)
    guest.goto(link)
    check_page(guest, False, "choose a password")
    guest.fill("input[name=new_password1]", "Tr1cky-pass!")
    guest.fill("input[name=new_password2]", "Tr1cky-pass!")
    guest.click("button:has-text('Set password')")
    guest.wait_for_selector("text=Your password is set")
    log_in(guest, "dora", "Tr1cky-pass!")
    guest.context.close()

    # Import a roster: the preview lists the skipped line first, then the import runs.
    page.click("nav >> text=Students")
    page.click("text=Import a roster")
    check_page(page, False, "import form")
    visited += ["/students/", "/students/import/"]
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    page.set_input_files("input[name=roster]", str(roster))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("text=Nothing is imported yet")
    check_page(page, False, "import preview")
    first = page.locator("#import-report tr").nth(1)
    assert "roster line 4" in first.inner_text() and "skipped" in first.inner_text()
    page.click("button:has-text('Import these files')")
    job = Job.objects.get()
    job_services.job_run(job_id=job.pk)
    page.wait_for_selector("text=Result: 2 created", timeout=30_000)
    check_page(page, False, "import result")

    # Enrol the two new students from the course page's searchable list.
    page.goto(f"/courses/{course.pk}/")
    page.click("#enrol summary")
    page.fill("#enrol-search", "rama")
    assert page.locator("#enrol-choices label:visible").all_inner_texts() == [
        "Srinivasa Ramanujan (S302)"
    ]
    page.check("#enrol-choices label:has-text('Ramanujan') input")
    page.fill("#enrol-search", "")
    page.check("#enrol-choices label:has-text('Châtelet') input")
    page.fill("input[name=joined_on]", "2026-09-01")
    page.click("button:has-text('Enrol the ticked students')")
    page.wait_for_selector("#enrolled >> text=Émilie du Châtelet")
    check_page(page, False, "course page")
    visited.append(f"/courses/{course.pk}/")

    # Generate a term in a modal dialog: focus goes in and stays there, Escape closes it and
    # gives focus back to its button. The preview shows the holiday skipped, then the sessions
    # are created.
    check_form_dialog(page, "#generate", "Generate weekly sessions")
    page.click("#generate-open")
    page.fill("input[name=first_day]", "2026-09-07")
    page.fill("input[name=last_day]", "2026-09-27")
    page.check("input[name=weekdays][value='2']")
    page.fill("#generate input[name=start_time]", "10:00")
    page.fill("#generate input[name=end_time]", "11:00")
    page.click("#generate button:has-text('Preview')")
    page.wait_for_selector("text=School trip")
    check_page(page, False, "term preview")
    page.click("button:has-text('Create 2 sessions')")
    page.wait_for_selector("text=2 weekly session(s) created.")
    assert sorted(ClassSession.objects.values_list("date", flat=True)) == [
        date(2026, 9, 9),
        date(2026, 9, 23),
    ]
    page.goto(f"/courses/{course.pk}/")
    check_form_dialog(page, "#add-session", "Add a session")
    page.click("#add-session-open")
    page.fill("#add-session input[name=date]", "2026-09-30")
    page.fill("#add-session input[name=start_time]", "10:00")
    page.fill("#add-session input[name=end_time]", "11:00")
    page.click("#add-session button:has-text('Add session')")
    page.wait_for_selector("text=Session created.")
    assert ClassSession.objects.filter(date=date(2026, 9, 30)).exists()

    # Export the grid: one row per student, one column per session. With a long term behind,
    # the matrix opens scrolled to the latest held session.
    for hour in (8, 14):
        course_services.sessions_generate_weekly(
            course=course,
            first_day=date(2026, 10, 1),
            last_day=date(2026, 11, 20),
            weekdays={0, 1, 2, 3, 4},
            start_time=time(hour),
            end_time=time(hour + 1),
        )
    page.goto(f"/reports/courses/{course.pk}/")
    check_page(page, False, "course report")
    wrap = page.locator(".matrix-wrap").bounding_box()
    latest = page.locator("#latest-held").bounding_box()
    assert page.evaluate("document.querySelector('.matrix-wrap').scrollLeft") > 0
    names = page.locator(".matrix thead th.corner").bounding_box()
    assert names["x"] + names["width"] <= latest["x"]  # not under the sticky name column
    assert latest["x"] + latest["width"] <= wrap["x"] + wrap["width"]
    visited.append(f"/reports/courses/{course.pk}/")
    with page.expect_download() as download:
        page.click("text=Excel (XLSX)")
    assert download.value.suggested_filename == "BIO101_2026-fall_grid.xlsx"
    with open(download.value.path(), "rb") as handle:  # the download keeps no file suffix
        sheet = openpyxl.load_workbook(handle).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("student_number", "student_name", "2026-09-09 10:00", "2026-09-23 10:00")
    assert sorted(row[1] for row in rows[1:-1]) == ["Srinivasa Ramanujan", "Émilie du Châtelet"]
    assert rows[-1][1] == "Session rate"
    check_print_sheet(page, course)
    page.goto("/holidays/")
    check_page(page, False, "holidays")
    visited.append("/holidays/")
    visited.append(f"/jobs/{job.pk}/")
    page.context.close()

    # The same pages on a phone, and the admin's forms.
    emilie = Student.objects.get(student_number="S301")
    visited += [
        f"/students/{emilie.pk}/",
        f"/students/{emilie.pk}/edit/",
        "/courses/new/",
        f"/courses/{course.pk}/edit/",
        f"/courses/{course.pk}/?show=all",
    ]
    phone = open_slow_page(browser, live_server, PHONE)
    for url in ("/accounts/login/", "/accounts/reset/"):
        phone.goto(url)
        check_page(phone, True, f"{url} at 390 px")
    log_in(phone, "admin", "admin-pass-1")
    for url in visited:
        phone.goto(url)
        check_page(phone, True, f"{url} at 390 px")
    phone.goto(f"/courses/{course.pk}/")
    phone.click("#generate-open")
    phone.fill("input[name=first_day]", "2026-10-05")
    phone.fill("input[name=last_day]", "2026-10-25")
    phone.check("input[name=weekdays][value='0']")
    phone.fill("#generate input[name=start_time]", "10:00")
    phone.fill("#generate input[name=end_time]", "11:00")
    phone.click("#generate button:has-text('Preview')")
    phone.wait_for_selector("text=3 sessions will be created")
    check_page(phone, True, "term preview at 390 px")
    phone.context.close()

    # Without JavaScript the two dialogs are plain forms on the page, and they still post.
    plain = open_slow_page(browser, live_server, {**DESKTOP, "java_script_enabled": False})
    log_in(plain, "admin", "admin-pass-1")
    plain.goto(f"/courses/{course.pk}/")
    assert plain.locator("#generate-open").is_hidden()
    plain.fill("#add-session input[name=date]", "2026-12-01")
    plain.fill("#add-session input[name=start_time]", "09:00")
    plain.fill("#add-session input[name=end_time]", "10:00")
    plain.click("#add-session button:has-text('Add session')")
    plain.wait_for_selector("text=Session created.")
    assert ClassSession.objects.filter(date=date(2026, 12, 1)).exists()
    plain.context.close()


def check_form_dialog(page, dialog: str, title: str) -> None:
    """A modal <dialog> opened by its button: named by its title, focus inside and kept there by
    Tab and Shift+Tab, the page behind is axe-clean with it open, Escape closes it and focus goes
    back to the button."""
    opener = f"{dialog}-open"
    assert page.locator(dialog).is_hidden()
    page.focus(opener)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{dialog}[open]")
    assert page.evaluate(f"document.querySelector('{dialog}').matches(':modal')")
    assert page.get_by_role("dialog", name=title).is_visible()
    inside = f"document.querySelector('{dialog}').contains(document.activeElement)"
    assert page.evaluate(inside)
    assert page.evaluate("document.activeElement.tagName") == "INPUT"  # the first field
    for key in ["Tab"] * 14 + ["Shift+Tab"] * 14:
        page.keyboard.press(key)
        assert page.evaluate(inside), f"{key} left the dialog"
    check_page(page, False, f"{title} dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector(dialog, state="hidden")
    assert page.evaluate("document.activeElement.id") == opener[1:]


def check_print_sheet(page, course) -> None:
    """The session sheet on paper: no navigation, links or buttons; the class photo's thumbnail
    and the whole table are there."""
    session = ClassSession.objects.filter(course=course).order_by("date").first()
    Capture.objects.create(
        session=session,
        image=ContentFile(jpeg_bytes(320, 240), name="class.jpg"),
        state=Capture.State.DONE,
        width=320,
        height=240,
    )
    page.goto(f"/reports/sessions/{session.pk}/")
    # (wait_for_function would evaluate a string, which the page's CSP refuses)
    thumb = page.locator(".class-photos img.thumb")
    for _ in range(100):
        if thumb.evaluate("img => img.complete"):
            break
        page.wait_for_timeout(100)
    assert page.locator("button[data-print]").is_visible()  # on screen, there is a Print button
    page.emulate_media(media="print")
    try:
        for hidden in ["header.topbar", "nav", "button[data-print]", "text=Download CSV"]:
            assert page.locator(hidden).first.is_hidden(), f"{hidden} is printed"
        assert thumb.is_visible()
        assert page.evaluate("document.querySelector('img.thumb').naturalWidth") == 320
        assert 0 < thumb.bounding_box()["height"] <= 45 * 96 / 25.4 + 1  # at most 45 mm high
        assert page.locator("#sheet").is_visible()
        assert page.locator("#sheet tr").count() == 1 + 2  # the heading and both students
    finally:
        page.emulate_media(media="screen")
