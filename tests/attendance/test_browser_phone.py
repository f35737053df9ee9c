"""The teacher's whole job in a real browser: on a phone at 390x844 (touch, mobile user
agent) by taps alone, and on a 1366x900 desktop. Headless Chromium (Debian's package) driven by
Playwright, a real worker processing the photos, axe-core (npm, pinned in package-lock.json)
served to the page from node_modules: every page fits the screen, every control is big enough for
a thumb, and no WCAG 2 A/AA rule is broken.

Screenshots of the phone flow go to $ROLLCALL_SCREENSHOTS when set (docs/screenshots/ was made
that way), else to the test's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from attendance.models import AttendanceRecord, Capture, ClassSession, DetectedFace
from attendance.selectors.sessions import session_roster
from attendance.services import courses as course_services
from attendance.services import students as student_services
from tests.conftest import jpeg_bytes
from tests.support.faces import CLASS, STRANGER, class_photo_bytes, enroll_with_photos

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]
# Playwright's sync API runs an event loop in this thread; the ORM calls between its steps are
# plain synchronous code, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Mobile Safari/537.36"
    ),
}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}

# Every visible control a person can tap or focus, and its size; a file input hidden behind its
# label and a checkbox inside its label are measured by that label, which is what a thumb taps.
MEASURE_CONTROLS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    let target = element;
    if (element.matches('input[type=file], input[type=checkbox], input[type=radio]')) {
      const byFor = element.id && document.querySelector(`label[for="${element.id}"]`);
      target = element.closest('label') || byFor || element;
    }
    if (!target.getClientRects().length) continue;
    const style = getComputedStyle(target);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    if (target.closest('details:not([open])') && !target.matches('summary')) continue;
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width < 44 || box.height < 44) {
      const text = target.innerText || target.value || target.getAttribute('aria-label') || '';
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${target.tagName.toLowerCase()} "${text.trim().slice(0, 40)}" ${size}`);
    }
  }
  return small;
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}});
  const where = (v) => v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ');
  return result.violations.map((v) => `${v.id}: ${where(v)}`);
}"""


# Playwright taps with one finger only; a pinch is two touches sent as the browser would.
PINCH = """([from, to]) => {
  const stage = document.getElementById('lightbox-stage');
  const box = stage.getBoundingClientRect();
  const y = box.top + box.height / 2, x = box.left + box.width / 2;
  const fingers = (gap) => [-1, 1].map((side, id) => new Touch({
    identifier: id, target: stage, clientX: x + side * gap / 2, clientY: y}));
  const send = (type, touches) => stage.dispatchEvent(new TouchEvent(type, {
    touches, targetTouches: touches, changedTouches: touches, bubbles: true, cancelable: true}));
  send('touchstart', fingers(from));
  send('touchmove', fingers(to));
  send('touchend', []);
}"""


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("ROLLCALL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, live_server, options: dict):
    context = browser.new_context(base_url=live_server.url, **options)
    # axe-core is served from the site's own origin, so a Content-Security-Policy of 'self'
    # lets it run without weakening the page.
    context.route(
        "**/__test__/axe.js",
        lambda route: route.fulfill(body=AXE.read_text(), content_type="text/javascript"),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A blocked inline script or style (the lightbox's zoom included) is a failure too.
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and errors.append(m.text),
    )
    page.errors = errors
    return page


def log_in(page, phone: bool) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-pass-1")
    tap(page, "button[type=submit], input[type=submit]", phone)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def tap(page, selector: str, phone: bool) -> None:
    if phone:
        page.locator(selector).first.scroll_into_view_if_needed()
        page.tap(selector)
    else:
        page.click(selector)


def check_page(page, phone: bool, what: str) -> None:
    """No horizontal scroll, thumb-sized controls on a phone, zero WCAG 2 A/AA violations."""
    page.wait_for_load_state("load")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{what}: the page is {width[0]} px wide in a {width[1]} px window"
    if phone:
        assert page.evaluate(MEASURE_CONTROLS) == [], f"{what}: controls under 44x44 px"
    page.add_script_tag(url="/__test__/axe.js")
    assert page.evaluate(AXE_RUN) == [], f"{what}: WCAG 2 A/AA violations"
    assert page.errors == [], f"{what}: script errors or CSP violations"


def check_every_page(page, room, capture: Capture, phone: bool) -> None:
    student = room.student(CLASS[0])
    for url, what in [
        ("/", "my courses"),
        ("/account/api-tokens/", "API tokens"),
        ("/accounts/password/", "password change"),
        (f"/sessions/{room.session.pk}/", "session"),
        (f"/captures/{capture.pk}/", "capture review"),
        (f"/courses/{room.course.pk}/", "course"),
        (f"/reports/courses/{room.course.pk}/", "course report"),
        (f"/reports/sessions/{room.session.pk}/", "session sheet"),
        (f"/reports/students/{student.pk}/", "student history"),
    ]:
        page.goto(url)
        check_page(page, phone, what)
    # Revoking a token asks first; without JavaScript that question is a page of its own.
    page.goto("/account/api-tokens/")
    page.fill("input[name=name]", f"gradebook {'phone' if phone else 'desktop'}")
    tap(page, "form[action$='/new/'] button", phone)
    page.wait_for_selector("form[action*='/revoke/']")
    page.evaluate("document.querySelector(\"form[action*='/revoke/']\").submit()")  # no script
    page.wait_for_selector("button:has-text('Yes, revoke it')")
    check_page(page, phone, "revoke a token: are you sure?")
    tap(page, "a:has-text('No, go back')", phone)
    page.wait_for_url("**/account/api-tokens/")


def check_lightbox(page, face: DetectedFace, phone: bool, shots: Path | None = None) -> None:
    """Open the class photo full screen, zoom in, check it like a page, keep Tab inside, close
    with Escape (focus back on the opener), then open it again and tap ``face``'s box."""
    opener = "#lightbox-open"
    if phone:
        tap(page, opener, True)
    else:
        page.focus(opener)
        page.keyboard.press("Enter")
    page.wait_for_selector("#photo-lightbox[open]")
    assert page.evaluate("document.activeElement.closest('#photo-lightbox') !== null")
    assert page.locator("#photo-lightbox g[data-face]").count() == face.capture.faces.count()
    if phone:
        tap(page, "#photo-lightbox [data-zoom=in]", True)
    else:
        page.keyboard.press("+")
    page.wait_for_selector("#lightbox-zoom >> text=150%")
    stage = page.evaluate(
        "(() => { const s = document.getElementById('lightbox-stage');"
        " return [s.scrollWidth, s.clientWidth]; })()"
    )
    assert stage[0] > stage[1], f"zoomed to 150% the photo is {stage[0]} px in {stage[1]} px"
    if phone:
        # Two fingers spread to twice their distance: 150 % becomes 300 %.
        page.evaluate(PINCH, [100, 200])
        page.wait_for_selector("#lightbox-zoom >> text=300%")
    check_page(page, phone, "photo lightbox")
    if shots:
        page.screenshot(path=shots / "phone-3b-zoomed.png", full_page=False)
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#photo-lightbox') !== null")
    page.keyboard.press("Escape")
    page.wait_for_selector("#photo-lightbox", state="hidden")
    assert page.evaluate("document.activeElement.id") == "lightbox-open"
    select_face_by_keyboard(page, face, "Space" if phone else "Enter")
    if phone:
        tap(page, opener, True)
    else:
        page.focus(opener)
        page.keyboard.press("Enter")
    page.wait_for_selector("#photo-lightbox[open]")
    box = page.locator(f"#photo-lightbox g[data-face='{face.pk}'] rect.box")
    position = box.bounding_box()
    x, y = position["x"] + position["width"] / 2, position["y"] + 4
    page.touchscreen.tap(x, y) if phone else page.mouse.click(x, y)
    page.wait_for_selector("#photo-lightbox", state="hidden")
    page.wait_for_selector(f"#face-{face.pk}.selected")
    assert page.evaluate("document.activeElement.id") == f"face-{face.pk}"


def select_face_by_keyboard(page, face: DetectedFace, key: str) -> None:
    """In the photo full screen every numbered box is a button named "Face N: <who>"; Tab reaches
    ``face``'s, and Enter or Space selects its face card (the dialog closes, focus on the card)."""
    page.focus("#lightbox-open")
    page.keyboard.press("Enter")
    page.wait_for_selector("#photo-lightbox[open]")
    cards = page.eval_on_selector_all("#face-list .face-card", "cards => cards.map(c => c.id)")
    names = [
        f"Face {n}: {f.student.full_name if f.student else 'unknown'}"
        for n, f in enumerate((DetectedFace.objects.get(pk=c[5:]) for c in cards), start=1)
    ]
    boxes = page.locator("#photo-lightbox g[data-face]")
    assert [boxes.nth(i).get_attribute("aria-label") for i in range(len(names))] == names
    wanted = names[cards.index(f"face-{face.pk}")]
    assert page.get_by_role("button", name=wanted, exact=True).count() == 1
    for _ in range(6 + len(names)):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == wanted:
            break
    else:
        raise AssertionError(f"Tab never reached the box {wanted!r}")
    page.keyboard.press(key)
    page.wait_for_selector("#photo-lightbox", state="hidden")
    page.wait_for_selector(f"#face-{face.pk}.selected")
    assert page.evaluate("document.activeElement.id") == f"face-{face.pk}"


def take_class_photo(page, phone: bool, tmp_path: Path) -> Capture:
    """The "Take class photo" input (capture=environment) gets a photo, as a phone's camera
    hands it over; the page uploads it at once and follows the worker until it is done."""
    photo = tmp_path / "class.jpg"
    photo.write_bytes(class_photo_bytes([*CLASS[:3], STRANGER]))
    assert page.get_attribute("#capture-camera", "capture") == "environment"
    page.set_input_files("#capture-camera", str(photo))
    page.wait_for_selector("#captures .capture[data-state='done']", timeout=240_000)
    return Capture.objects.get()


def test_a_teacher_takes_attendance_on_a_phone_by_taps_alone(
    celery_worker, live_server, browser, admin_user, alice, shots, tmp_path
):
    room = enroll_with_photos(admin_user, alice, CLASS)
    page = open_page(browser, live_server, PHONE)
    log_in(page, phone=True)
    page.goto(f"/sessions/{room.session.pk}/")
    check_page(page, True, "session before the photo")
    page.screenshot(path=shots / "phone-1-session.png", full_page=False)

    page.evaluate("window.__samePage = true")
    capture = take_class_photo(page, True, tmp_path)
    assert page.evaluate("window.__samePage === true")  # no reload
    page.wait_for_selector("#captures .capture[data-state='done'] >> text=Review faces")
    assert page.locator("#captures [data-role=note]").count() == 0  # the stale "queued" is gone
    colin = room.student(CLASS[0])
    page.wait_for_selector(f"#roster li[data-student='{colin.pk}'] .badge.present")
    page.screenshot(path=shots / "phone-2-photo-done.png", full_page=False)

    tap(page, "#captures .capture a", True)
    page.wait_for_selector("#face-list .face-card")
    check_page(page, True, "capture review")
    page.screenshot(path=shots / "phone-3-review.png", full_page=False)

    # A numbered box selects its card.
    matched = DetectedFace.objects.filter(capture=capture, student=colin).get()
    box = page.locator(f"#face-boxes g[data-face='{matched.pk}'] rect.box")
    box.scroll_into_view_if_needed()
    position = box.bounding_box()
    page.touchscreen.tap(position["x"] + position["width"] / 2, position["y"] + 4)
    page.wait_for_selector(f"#face-{matched.pk}.selected")

    # The photo full screen: zoom, Tab stays inside, Escape gives focus back; a box is still a tap.
    check_lightbox(page, matched, phone=True, shots=shots)

    # Confirm one face, in place; Undo in its toast puts it back, then confirm again.
    page.evaluate("window.__samePage = true")
    decided_by_machine = matched.decision
    tap(page, f"#face-{matched.pk} button:has-text('Confirm')", True)
    page.wait_for_selector(f"#face-{matched.pk}[data-decision='confirmed']")
    page.locator(f"#face-{matched.pk} .toast button:has-text('Undo')").scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    tap(page, f"#face-{matched.pk} .toast button:has-text('Undo')", True)
    page.wait_for_selector(f"#face-{matched.pk}[data-decision='{decided_by_machine}']")
    page.wait_for_selector(f"#face-{matched.pk} .toast >> text=Undone")
    assert abs(page.evaluate("window.scrollY") - scrolled) <= 2  # the page stays where it was
    matched.refresh_from_db()
    assert (matched.decision, matched.decided_by) == (decided_by_machine, None)
    tap(page, f"#face-{matched.pk} button:has-text('Confirm')", True)
    page.wait_for_selector(f"#face-{matched.pk}[data-decision='confirmed']")
    page.wait_for_selector(f"#face-{matched.pk} .toast")
    matched.refresh_from_db()
    assert (matched.decision, matched.decided_by) == ("confirmed", alice)

    # Assign the stranger's face to Vladimir, found by typing part of his name.
    vladimir = room.student(CLASS[3])
    stranger = DetectedFace.objects.get(capture=capture, student__isnull=True)
    card = f"#face-{stranger.pk}"
    tap(page, f"{card} input[type=search]", True)
    page.keyboard.type("vladi")
    assert page.input_value(f"{card} select") == str(vladimir.pk)
    tap(page, f"{card} button:has-text('Assign')", True)
    page.wait_for_selector(f"{card}[data-decision='corrected']")
    page.screenshot(path=shots / "phone-4-assigned.png", full_page=False)
    stranger.refresh_from_db()
    assert stranger.student == vladimir
    assert page.evaluate("window.__samePage === true")

    # Ada joined today and has no photos yet: nobody marks her until "mark all unmarked".
    ada = student_services.student_create(
        student_number="S900", full_name="Ada Lovelace", consent_by=admin_user
    )
    course_services.enrollment_create(student=ada, course=room.course, joined_on=room.session.date)

    # Mark Gloria late with a remark, from the session page; Undo is offered beside her row.
    page.goto(f"/sessions/{room.session.pk}/")
    gloria = room.student(CLASS[4])
    row = f"#roster li[data-student='{gloria.pk}']"
    page.evaluate("window.__samePage = true")
    tap(page, f"{row} button[value=late]", True)
    page.wait_for_selector(f"{row} button[value=late][aria-pressed=true]")
    # Her first mark: Undo takes it back to "not marked", in place.
    tap(page, f"{row} .toast button:has-text('Undo')", True)
    page.wait_for_selector(f"{row}[data-status='']")
    assert not AttendanceRecord.objects.filter(session=room.session, student=gloria).exists()
    tap(page, f"{row} button[value=late]", True)
    page.wait_for_selector(f"{row} button[value=late][aria-pressed=true]")
    page.wait_for_selector(f"{row} .toast")
    tap(page, f"{row} input[name=remark]", True)
    page.keyboard.type("bus was late")
    tap(page, f"{row} button:has-text('Save')", True)
    page.wait_for_selector(f"{row} .toast >> text=Remark saved")
    page.screenshot(path=shots / "phone-5-late-with-remark.png", full_page=False)
    record = AttendanceRecord.objects.get(session=room.session, student=gloria)
    assert (record.status, record.remark, record.marked_by) == ("late", "bus was late", alice)
    assert page.evaluate("window.__samePage === true")

    # "Mark all unmarked absent" (after its question), then Undo in its toast: exactly the
    # students it marked are not marked again, in place; Gloria keeps her late mark.
    before = set(
        AttendanceRecord.objects.filter(session=room.session).values_list("student", "status")
    )
    page.once("dialog", lambda question: question.accept())
    tap(page, "#roster-section form.bulk button[value=absent]", True)
    page.wait_for_selector("main > .toast >> text=are now absent")
    ada_row = f"#roster li[data-student='{ada.pk}']"
    page.wait_for_selector(f"{ada_row}[data-status='absent']")
    tap(page, "main > .toast button:has-text('Undo')", True)
    page.wait_for_selector("main > .toast >> text=Undone")
    page.wait_for_selector(f"{ada_row}[data-status='']")
    page.wait_for_selector("#roster-section form.bulk button[value=absent]")
    after = set(
        AttendanceRecord.objects.filter(session=room.session).values_list("student", "status")
    )
    assert after == before
    assert page.evaluate("window.__samePage === true")

    # Finalize: the confirmation names who becomes absent.
    tap(page, "#finalize summary", True)
    panel = page.locator("#finalize details").inner_text()
    unmarked = [
        line.student.full_name
        for line in session_roster(session=room.session)
        if line.record is None
    ]
    for name in unmarked:
        assert name in panel
    check_page(page, True, "session with the finalize confirmation open")
    page.screenshot(path=shots / "phone-6-finalize.png", full_page=False)
    tap(page, "#finalize-confirm", True)
    page.wait_for_selector("#reopen-confirm", state="attached")
    room.session.refresh_from_db()
    assert room.session.state == ClassSession.State.FINALIZED

    check_every_page(page, room, capture, phone=True)
    page.context.close()


def test_the_same_pages_work_on_a_desktop(
    celery_worker, live_server, browser, admin_user, alice, tmp_path
):
    room = enroll_with_photos(admin_user, alice, CLASS)
    page = open_page(browser, live_server, DESKTOP)
    log_in(page, phone=False)
    page.goto(f"/sessions/{room.session.pk}/")
    capture = take_class_photo(page, False, tmp_path)
    check_every_page(page, room, capture, phone=False)
    # The desktop review keeps the photo beside the faces; its lightbox works by keyboard.
    page.goto(f"/captures/{capture.pk}/")
    photo, faces = page.locator(".review-layout > div").all()[:2]
    assert photo.bounding_box()["x"] < faces.bounding_box()["x"]
    check_lightbox(page, capture.faces.exclude(student=None).first(), phone=False)

    # A photo with no faces: a warning with advice on its row, said in the status line, and on
    # its review page.
    page.goto(f"/sessions/{room.session.pk}/")
    wall = tmp_path / "wall.jpg"
    wall.write_bytes(jpeg_bytes(640, 480, (170, 170, 170)))
    page.set_input_files("#capture-images", str(wall))
    page.locator("#captures .capture[data-state='done']").nth(1).wait_for(timeout=120_000)
    empty = Capture.objects.latest("pk")
    row = page.locator(f"#captures .capture[data-capture='{empty.pk}'] .msg-warning")
    assert "No faces found" in row.inner_text() and "closer" in row.inner_text()
    page.wait_for_selector("#capture-message >> text=No faces found")
    page.goto(f"/captures/{empty.pk}/")
    assert page.locator("#no-faces").is_visible()
    assert "Retake the photo closer" in page.inner_text("#no-faces")
    check_page(page, False, "review of a photo with no faces")

    # Several photos at once become a job: its page, and the same page on a phone.
    page.goto(f"/sessions/{room.session.pk}/")
    page.set_input_files("#capture-images", [str(wall), str(wall)])
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#import-report", timeout=120_000)
    check_page(page, False, "photos job")
    phone = open_page(browser, live_server, PHONE)
    log_in(phone, phone=True)
    phone.goto(page.url)
    check_page(phone, True, "photos job")
    phone.context.close()
    page.context.close()
