"""Done when: a client that knows only the OpenAPI schema enrolls students with photos, creates a
session, uploads a class photo, polls until it is done, and reads the marks.

The client finds every URL by ``operationId`` in /api/schema/ and nothing else. The photos are
processed by the real Celery task in a real worker process on Redis (the ``celery_worker`` fixture
of tests/attendance, skipped with the reason when Redis, LFW or the face model is missing), not
eagerly in the test process.
"""

from __future__ import annotations

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import api_client
from tests.support.faces import class_photo_bytes, lfw_photo

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PEOPLE = ["Colin_Powell", "Tony_Blair"]


class SchemaClient:
    """Calls operations by their operationId, with paths taken from the schema."""

    def __init__(self, client, schema: dict) -> None:
        self.client = client
        self.operations = {
            operation["operationId"]: (method, path)
            for path, item in schema["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and "operationId" in operation
        }

    def call(self, operation_id: str, *, expect: int, path=None, **kwargs) -> dict:
        method, template = self.operations[operation_id]
        url = re.sub(r"\{[^}]+\}", lambda _: str(path), template)
        response = getattr(self.client, method)(url, **kwargs)
        assert response.status_code == expect, (operation_id, response.content)
        return response.json()

    def poll(self, operation_id: str, pk: int, *, until, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.call(operation_id, path=pk, expect=200)
            if until(body) or time.monotonic() > deadline:
                return body
            time.sleep(0.5)


def upload(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


@pytest.mark.usefixtures("celery_worker")
def test_a_schema_only_client_takes_attendance_from_a_class_photo(admin_user, alice):
    schema = api_client(alice).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    admin = SchemaClient(api_client(admin_user), schema)
    teacher = SchemaClient(api_client(alice), schema)

    course = admin.call(
        "courses_create",
        data={
            "code": "API101",
            "title": "Integrations",
            "term": "2026-fall",
            "teachers": ["alice"],
        },
        format="json",
        expect=201,
    )
    students, photos = {}, []
    for i, person in enumerate(PEOPLE):
        student = admin.call(
            "students_create",
            data={"student_number": f"A{i}", "full_name": person, "consent": True},
            format="json",
            expect=201,
        )
        admin.call(
            "enrollments_create",
            data={"student": student["id"], "course": course["id"], "joined_on": "2026-09-01"},
            format="json",
            expect=201,
        )
        for number in (1, 2):
            photo = admin.call(
                "photos_create",
                data={"student": student["id"], "image": upload(lfw_photo(person, number))},
                format="multipart",
                expect=202,
            )
            photos.append(photo["id"])
        students[student["id"]] = person
    for pk in photos:
        done = admin.poll("photos_retrieve", pk, until=lambda p: p["status"] != "pending")
        assert done["status"] == "ready", done

    session = teacher.call(
        "sessions_create",
        data={
            "course": course["id"],
            "date": "2026-10-05",
            "start_time": "09:00",
            "end_time": "10:00",
        },
        format="json",
        expect=201,
    )
    # Photo 5 of each: in photo 4, composed, Tony Blair's face has too little contrast to be
    # marked without a person (it goes to review), and this flow is about automatic marks.
    class_photo = SimpleUploadedFile(
        "class.jpg", class_photo_bytes(PEOPLE, number=5), content_type="image/jpeg"
    )
    capture = teacher.call(
        "captures_create",
        data={"session": session["id"], "image": class_photo},
        format="multipart",
        expect=202,
    )
    assert capture["state"] == "queued"
    capture = teacher.poll(
        "captures_retrieve", capture["id"], until=lambda c: c["state"] in {"done", "failed"}
    )

    assert capture["state"] == "done", capture
    assert len(capture["faces"]) == 2
    assert {students[m["student"]] for m in capture["marks"]} == set(PEOPLE)
    records = teacher.call("records_list", data={"session": session["id"]}, expect=200)["results"]
    assert sorted((students[r["student"]], r["status"], r["source"]) for r in records) == [
        ("Colin_Powell", "present", "face"),
        ("Tony_Blair", "present", "face"),
    ]
    report = teacher.call("reports_sessions_retrieve", path=session["id"], expect=200)
    assert report["tally"]["present"] == 2
