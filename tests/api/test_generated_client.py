"""Done when: a client GENERATED from /api/schema/ by openapi-python-client (pinned in the dev
requirements) does a whole integration over real HTTP: create a course, bulk-enrol, record
consent, upload reference photos, upload a class photo, receive the signed ``capture.done``
webhook on a real receiver on 127.0.0.1, read the marks with face candidates, correct one,
finalize, receive ``session.finalized``.

The client is generated into the test's tmp dir (nothing generated is committed) and calls the
app through pytest-django's live server; photos and webhooks are processed by the real Celery
worker on Redis (skipped with the reason when Redis, LFW or the face model is missing).
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from attendance.services.tokens import api_token_create
from attendance.services.webhooks import webhook_signature_verify
from tests.support.faces import class_photo_bytes, lfw_photo

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PEOPLE = ["Colin_Powell", "Tony_Blair"]
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
SECRET = "integration-secret"


@pytest.fixture
def generated(tmp_path, alice):
    """The package openapi-python-client makes of the schema, imported as ``rollcall_client``."""
    from tests.api.conftest import api_client

    if not GENERATOR.exists():
        pytest.skip("openapi-python-client is not installed (pip install -r requirements-dev.txt)")
    schema = api_client(alice).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    # Image responses are files (the generator knows them as octet-stream); no formatter hooks.
    (tmp_path / "config.yml").write_text(
        "package_name_override: rollcall_client\npost_hooks: []\n"
        "content_type_overrides:\n  image/jpeg: application/octet-stream\n"
    )
    run = subprocess.run(
        [
            str(GENERATOR), "generate", "--path", str(tmp_path / "schema.json"),
            "--config", str(tmp_path / "config.yml"), "--meta", "none",
            "--output-path", str(tmp_path / "rollcall_client"),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning" not in (run.stdout + run.stderr).lower(), run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("rollcall_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == "rollcall_client"]:
            del sys.modules[name]


def operation(package, tag: str, operation_id: str):
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation_id}")


def model(package, name: str):
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


def call(package, tag: str, operation_id: str, *, expect: int, **kwargs):
    response = operation(package, tag, operation_id).sync_detailed(**kwargs)
    assert response.status_code == expect, (operation_id, response.content)
    return response.parsed


def image(path_or_bytes, name: str = "photo.jpg"):
    from rollcall_client.types import File

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return File(payload=io.BytesIO(data), file_name=name, mime_type="image/jpeg")


def poll(fetch, until, *, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def signed_event(receiver, event: str, *, timeout: float = 120) -> dict:
    """The first request of ``event`` the receiver got, its signature checked."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in list(receiver.requests):
            if request.headers["RollCall-Event"] == event:
                header = request.headers["RollCall-Signature"]
                assert webhook_signature_verify(secret=SECRET, header=header, body=request.body)
                return json.loads(request.body)
        time.sleep(0.2)
    raise AssertionError(f"no {event} webhook in {timeout}s: {receiver.requests}")


@pytest.mark.usefixtures("celery_worker")
def test_a_generated_client_does_the_whole_integration(
    generated, live_server, receiver, admin_user, alice
):
    import httpx

    rc = generated
    admin = rc.AuthenticatedClient(
        base_url=live_server.url,
        token=api_token_create(user=admin_user, name="sis").key,
        prefix="Token",
        timeout=httpx.Timeout(60),
    )
    teacher = rc.AuthenticatedClient(
        base_url=live_server.url,
        token=api_token_create(user=alice, name="lms").key,
        prefix="Token",
        timeout=httpx.Timeout(60),
    )

    # The school system subscribes to the events it needs.
    Events = model(rc, "WebhookEventEnum")
    call(
        rc, "webhooks", "webhooks_create", client=admin, expect=201,
        body=model(rc, "WebhookEndpointInputRequest")(
            url=receiver.url,
            events=[Events.CAPTURE_DONE, Events.SESSION_FINALIZED],
            secret=SECRET,
        ),
    )  # fmt: skip

    course = call(
        rc, "courses", "courses_create", client=admin, expect=201,
        body=model(rc, "CourseInputRequest")(
            code="GEN101", title="Generated", term="2026-fall", teachers=["alice"]
        ),
    )  # fmt: skip
    Student = model(rc, "StudentBulkItemRequest")
    bulk = call(
        rc, "students", "students_bulk_create", client=admin, expect=200,
        body=[Student(student_number=f"G{i}", full_name=p) for i, p in enumerate(PEOPLE)],
    )  # fmt: skip
    ids = {r.id: person for r, person in zip(bulk.results, PEOPLE, strict=True)}
    Enrol = model(rc, "EnrollmentBulkItemRequest")
    enrolled = call(
        rc, "enrollments", "enrollments_bulk_create", client=admin, expect=200,
        body=[Enrol(student=pk, course=course.id, joined_on=date(2026, 9, 1)) for pk in ids],
    )  # fmt: skip
    assert enrolled.counts.created == 2

    Method = model(rc, "ConsentMethodEnum")
    for pk in ids:
        consent = call(
            rc, "students", "students_consent_create", id=pk, client=admin, expect=200,
            body=model(rc, "ConsentInputRequest")(method=Method.PAPER_FORM),
        )  # fmt: skip
        assert (consent.given, consent.given_by, consent.method) == (True, "admin", "paper_form")
        for number in (1, 2):
            call(
                rc, "photos", "photos_create", client=admin, expect=202,
                body=model(rc, "PhotoInputRequest")(
                    student=pk, image=image(lfw_photo(ids[pk], number))
                ),
            )  # fmt: skip
    photos = poll(
        lambda: call(rc, "photos", "photos_list", client=admin, course=course.id, expect=200),
        until=lambda page: all(p.status != "pending" for p in page.results),
    )
    assert sorted(p.status for p in photos.results) == ["ready"] * 4

    session = call(
        rc, "sessions", "sessions_create", client=teacher, expect=201,
        body=model(rc, "SessionInputRequest")(
            course=course.id, date=date(2026, 10, 5), start_time="09:00", end_time="10:00"
        ),
    )  # fmt: skip
    photo = class_photo_bytes(PEOPLE, number=5)
    upload = model(rc, "CaptureInputRequest")
    capture = call(
        rc, "captures", "captures_create", client=teacher, expect=202,
        body=upload(session=session.id, image=image(photo, "class.jpg")),
    )  # fmt: skip

    done = signed_event(receiver, "capture.done", timeout=240)
    assert done["data"]["capture"] == capture.id
    assert done["data"]["state"] == "done", done
    # The same class photo again: the capture made the first time, no second set of faces.
    again = call(
        rc, "captures", "captures_create", client=teacher, expect=200,
        body=upload(session=session.id, image=image(photo, "class.jpg")),
    )  # fmt: skip
    assert again.duplicate_of == capture.id

    capture = call(rc, "captures", "captures_retrieve", id=capture.id, client=teacher, expect=200)
    assert len(capture.faces) == 2
    for face in capture.faces:
        best = face.candidates[0]
        assert best.student == face.student
        assert 0.5 <= best.score <= 1
    crop = operation(rc, "faces", "faces_crop_retrieve").sync_detailed(
        id=capture.faces[0].id, client=teacher
    )
    assert crop.status_code == 200
    assert crop.content[:2] == b"\xff\xd8"  # a JPEG, with the token (no login redirect)
    records = call(
        rc, "records", "records_list", client=teacher, session=session.id, expect=200
    ).results
    assert sorted((ids[r.student], r.status, r.source) for r in records) == [
        ("Colin_Powell", "present", "face"),
        ("Tony_Blair", "present", "face"),
    ]

    corrected = call(
        rc, "records", "records_partial_update", id=records[0].id, client=teacher, expect=200,
        body=model(rc, "PatchedRecordCorrectionRequest")(
            status=model(rc, "RecordStatusEnum").LATE, reason="came in at 9:10"
        ),
    )  # fmt: skip
    assert (corrected.status, corrected.source) == ("late", "api")

    finalized = call(
        rc, "sessions", "sessions_finalize_create", id=session.id, client=teacher, expect=200,
        body=model(rc, "FinalizeInputRequest")(),
    )  # fmt: skip
    assert finalized.state == "finalized"
    event = signed_event(receiver, "session.finalized")
    assert event["data"]["session"] == session.id
    assert event["data"]["marked_absent"] == 0
