"""Captures: a teacher uploads a class photo (or a webcam frame); the task's body finds, embeds
and matches every face and marks the roster; the teacher reviews, corrects and finalizes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    Capture,
    DetectedFace,
    ReferencePhoto,
)
from attendance.services import captures as capture_services
from attendance.services import photos as photo_services
from attendance.services import records as record_services
from tests.attendance.test_photos import bad_image
from tests.conftest import jpeg_bytes
from tests.support.faces import CLASS, STRANGER, class_photo_bytes, make_classroom

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "class.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.fixture
def classroom(face_models, admin_user, alice):
    """Five LFW people enrolled with two ready reference photos each."""
    room = make_classroom(admin_user, alice, CLASS)
    for photo_id in ReferencePhoto.objects.values_list("pk", flat=True):
        photo_services.reference_photo_process(photo_id=photo_id)
    assert set(ReferencePhoto.objects.values_list("status", flat=True)) == {"ready"}
    return room


def new_capture(room, data: bytes, by=None) -> Capture:
    return capture_services.capture_create(
        session=room.session, image_file=upload(data), source="upload", by=by
    )


def process(capture: Capture, **options) -> Capture:
    capture_services.capture_process(capture_id=capture.pk, **options)
    return Capture.objects.get(pk=capture.pk)


def statuses(room) -> dict[str, str]:
    return {
        person: AttendanceRecord.objects.filter(session=room.session, student=student)
        .values_list("status", flat=True)
        .first()
        or ""
        for person, student in room.students.items()
    }


def counts() -> tuple[int, int, int]:
    return (
        DetectedFace.objects.count(),
        AttendanceRecord.objects.count(),
        AttendanceChange.objects.count(),
    )


# --- upload -------------------------------------------------------------------------------------


def test_a_teacher_uploads_class_photos_and_they_are_queued_after_commit(
    client, alice, session, django_capture_on_commit_callbacks, monkeypatch
):
    from attendance import tasks
    from attendance.models import Job
    from attendance.services import jobs as job_services

    sent = []
    monkeypatch.setattr(tasks, "enqueue_job", lambda job_id: True)
    monkeypatch.setattr(tasks, "enqueue_capture", lambda capture_id, **kw: sent.append(capture_id))
    client.force_login(alice)
    response = client.post(
        reverse("attendance:capture_upload", args=[session.pk]),
        {"images": [upload(jpeg_bytes(640, 480), "a.jpg"), upload(jpeg_bytes(320, 200))]},
    )
    assert response.status_code == 302  # to the job's progress page
    with django_capture_on_commit_callbacks(execute=True):
        job_services.job_run(job_id=Job.objects.get().pk)
    captures = list(session.captures.order_by("pk").values_list("state", "width", "height"))
    assert captures == [("queued", 640, 480), ("queued", 320, 200)]
    assert sorted(sent) == sorted(session.captures.values_list("pk", flat=True))
    page = client.get(reverse("attendance:session_detail", args=[session.pk])).content.decode()
    assert "waiting for a worker" in page and 'data-state="queued"' in page


def test_a_webcam_frame_is_saved_as_a_webcam_capture_and_answered_in_json(client, alice, session):
    client.force_login(alice)
    response = client.post(
        reverse("attendance:capture_upload", args=[session.pk]),
        {"frame": upload(jpeg_bytes(640, 480), "webcam.jpg")},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201
    body = response.json()
    capture = Capture.objects.get(pk=body["captures"][0]["id"])
    assert (capture.source, capture.state) == ("webcam", "queued")
    assert body["captures"][0]["status_url"] == reverse(
        "attendance:capture_status", args=[capture.pk]
    )
    assert "queued" in body["message"]


@pytest.mark.parametrize("code", ["not_an_image", "truncated_image", "image_too_large"])
def test_a_bad_class_photo_gets_a_clear_400_and_loses_nothing_saved(client, alice, session, code):
    client.force_login(alice)
    url = reverse("attendance:capture_upload", args=[session.pk])
    client.post(url, {"images": upload(jpeg_bytes(640, 480))})
    before = list(Capture.objects.values_list("pk", "image"))
    response = client.post(url, {"images": bad_image(code)})
    assert response.status_code == 400
    assert f'data-code="{code}"' in response.content.decode()
    assert list(Capture.objects.values_list("pk", "image")) == before
    response = client.post(url, {"frame": bad_image(code)}, headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == code
    assert list(Capture.objects.values_list("pk", "image")) == before


def test_an_upload_without_a_file_says_so(client, alice, session):
    client.force_login(alice)
    response = client.post(reverse("attendance:capture_upload", args=[session.pk]), {})
    assert response.status_code == 400
    assert "Choose a photo" in response.content.decode()


def test_a_finalized_session_takes_no_more_photos(client, alice, session):
    record_services.session_finalize(session=session, by=alice)
    client.force_login(alice)
    response = client.post(
        reverse("attendance:capture_upload", args=[session.pk]),
        {"images": upload(jpeg_bytes())},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "session_finalized"
    assert not Capture.objects.exists()


def test_bob_cannot_upload_to_see_or_correct_alices_captures(client, alice, bob, session):
    capture = capture_services.capture_create(
        session=session, image_file=upload(jpeg_bytes()), source="upload", by=alice
    )
    face = DetectedFace.objects.create(
        capture=capture, index=0, box=[0, 0, 10, 10], detector_score=0.99, decision="unknown"
    )
    client.force_login(bob)
    assert (
        client.post(
            reverse("attendance:capture_upload", args=[session.pk]),
            {"images": upload(jpeg_bytes())},
        ).status_code
        == 404
    )
    for name in ("capture_detail", "capture_status"):
        assert client.get(reverse(f"attendance:{name}", args=[capture.pk])).status_code == 404
    assert (
        client.post(reverse("attendance:capture_reprocess", args=[capture.pk])).status_code == 404
    )
    assert client.post(reverse("attendance:face_assign", args=[face.pk]), {}).status_code == 404
    assert client.post(reverse("attendance:face_confirm", args=[face.pk])).status_code == 404
    assert session.captures.count() == 1


def test_the_status_endpoint_reports_the_state_while_queued(client, alice, session):
    capture = capture_services.capture_create(
        session=session, image_file=upload(jpeg_bytes()), source="upload", by=alice
    )
    client.force_login(alice)
    body = client.get(reverse("attendance:capture_status", args=[capture.pk])).json()
    assert body["state"] == "queued" and body["finished"] is False and body["faces"] == 0


# --- the pipeline -------------------------------------------------------------------------------


def test_enrolled_people_in_the_photo_are_present_and_a_stranger_is_unknown(classroom, alice):
    in_photo = CLASS[:3]
    capture = process(new_capture(classroom, class_photo_bytes([*in_photo, STRANGER]), by=alice))
    assert capture.state == "done", capture.failure_reason
    assert statuses(classroom) == {p: "present" if p in in_photo else "" for p in CLASS}
    faces = list(capture.faces.order_by("index"))
    assert len(faces) == 4
    assert sorted(f.student.full_name for f in faces if f.student) == sorted(
        p.replace("_", " ") for p in in_photo
    )
    stranger = [f for f in faces if f.student is None]
    assert len(stranger) == 1 and stranger[0].decision == "unknown"
    assert len(stranger[0].candidates) == 3  # the closest roster people, shown for review
    assert set(capture.timings) >= {"decode", "detect", "embed", "match", "save", "total"}
    assert capture.timings["faces"] == 4
    record = AttendanceRecord.objects.get(student=classroom.student(CLASS[0]))
    assert (record.source, record.face.capture_id) == ("face", capture.pk)
    assert 0.5 <= record.confidence <= 1.0
    absent = record_services.session_finalize(session=classroom.session, by=alice)
    assert absent == 2
    assert statuses(classroom) == {p: "present" if p in in_photo else "absent" for p in CLASS}


def test_processing_twice_or_reprocessing_changes_nothing(classroom):
    capture = process(new_capture(classroom, class_photo_bytes([*CLASS[:3], STRANGER])))
    first = counts()
    faces = list(capture.faces.values_list("pk", "student_id", "decision"))
    assert process(capture).finished_at == capture.finished_at  # already done: left alone
    again = process(capture, force=True)
    assert again.state == "done"
    assert counts() == first
    assert list(again.faces.values_list("pk", "student_id", "decision")) == faces


def test_several_captures_of_a_session_merge(classroom):
    process(new_capture(classroom, class_photo_bytes(CLASS[:2], seed=1)))
    process(new_capture(classroom, class_photo_bytes(CLASS[2:4], number=3, seed=2)))
    assert statuses(classroom) == {p: "present" if p in CLASS[:4] else "" for p in CLASS}
    assert AttendanceRecord.objects.count() == 4


def test_a_mark_set_by_hand_is_not_overwritten_by_a_photo(classroom, alice):
    tony = classroom.student(CLASS[1])
    record_services.attendance_mark(
        session=classroom.session, student=tony, status="excused", source="manual", by=alice
    )
    process(new_capture(classroom, class_photo_bytes(CLASS[:3])))
    assert statuses(classroom)[CLASS[1]] == "excused"
    assert statuses(classroom)[CLASS[0]] == "present"


def test_a_photo_with_no_face_is_done_with_no_marks(classroom):
    capture = process(new_capture(classroom, jpeg_bytes(640, 480)))
    assert (capture.state, capture.faces.count(), AttendanceRecord.objects.count()) == (
        "done",
        0,
        0,
    )


def test_a_capture_whose_file_cannot_be_decoded_fails_with_the_reason(classroom):
    capture = new_capture(classroom, jpeg_bytes(64, 64))
    # The file is damaged on disk after the upload was checked.
    with capture.image.storage.open(capture.image.name, "wb") as handle:
        handle.write(b"garbage now")
    capture = process(capture)
    assert (capture.state, capture.failure_code) == ("failed", "not_an_image")


# --- review by the teacher ----------------------------------------------------------------------


def test_the_result_page_numbers_a_box_per_face_and_names_them_in_cards_on_one_match_scale(
    classroom, client, alice, admin_user
):
    capture = process(new_capture(classroom, class_photo_bytes([*CLASS[:2], STRANGER])))
    client.force_login(alice)
    page = client.get(reverse("attendance:capture_detail", args=[capture.pk])).content.decode()
    assert page.count('<rect class="box"') == 3
    assert page.count('class="face-card"') == 3
    assert "Colin Powell" in page and "Unknown" in page
    # One scale, 0-100 % with higher better: no raw distance, no 0..1 confidence on the page.
    colin = capture.faces.get(student=classroom.student(CLASS[0]))
    percent = round(capture_services.match_confidence(colin.distance) * 100)
    assert f"match {percent}%" in page
    assert f"{colin.distance:.2f}" not in page
    # Stage timings and the model are details for admins only.
    assert 'id="timings"' not in page
    client.force_login(admin_user)
    page = client.get(reverse("attendance:capture_detail", args=[capture.pk])).content.decode()
    assert '<details id="capture-details">' in page and 'id="timings"' in page and "embed" in page
    status = client.get(reverse("attendance:capture_status", args=[capture.pk])).json()
    assert (status["finished"], status["faces"], status["matched"], status["unknown"]) == (
        True, 3, 2, 1,
    )  # fmt: skip


def test_the_teacher_assigns_an_unknown_face_and_it_lands_in_the_audit_trail(
    classroom, client, alice
):
    capture = process(new_capture(classroom, class_photo_bytes([CLASS[0], STRANGER])))
    unknown = capture.faces.get(student__isnull=True)
    vladimir = classroom.student(CLASS[3])
    client.force_login(alice)
    response = client.post(
        reverse("attendance:face_assign", args=[unknown.pk]), {"student": vladimir.pk}
    )
    assert response.status_code == 302
    unknown.refresh_from_db()
    assert (unknown.student, unknown.decision, unknown.decided_by) == (vladimir, "corrected", alice)
    record = AttendanceRecord.objects.get(student=vladimir)
    assert (record.status, record.source, record.marked_by) == ("present", "manual", alice)
    change = AttendanceChange.objects.filter(student=vladimir).latest("pk")
    assert (change.new_status, change.changed_by) == ("present", alice)
    assert "assigned by hand" in change.reason


def test_unassigning_a_wrong_match_clears_the_mark_it_gave(classroom, client, alice):
    capture = process(new_capture(classroom, class_photo_bytes([CLASS[0]])))
    face = capture.faces.get()
    colin = classroom.student(CLASS[0])
    client.force_login(alice)
    client.post(reverse("attendance:face_assign", args=[face.pk]), {"student": ""})
    face.refresh_from_db()
    assert (face.student, face.decision) == (None, "corrected")
    assert not AttendanceRecord.objects.filter(student=colin).exists()
    change = AttendanceChange.objects.filter(student=colin).latest("pk")
    assert (change.old_status, change.new_status, change.changed_by) == ("present", "", alice)


def test_assigning_a_student_held_by_another_face_moves_them(classroom, alice):
    capture = process(new_capture(classroom, class_photo_bytes(CLASS[:2])))
    first, second = capture.faces.order_by("index")
    moved, dropped = first.student, second.student
    capture_services.face_assign(face=second, student=moved, by=alice)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.student, second.student) == (None, moved)
    # The student no face shows any more loses the mark that face gave them.
    present = AttendanceRecord.objects.filter(status="present").values_list("student", flat=True)
    assert list(present) == [moved.pk]
    assert AttendanceChange.objects.filter(student=dropped, new_status="").count() == 1


def test_confirming_a_review_match_marks_the_student_present(classroom, alice):
    capture = process(new_capture(classroom, class_photo_bytes([CLASS[0]])))
    face = capture.faces.get()
    # Make the match a "needs review" one, as a borderline distance would.
    face.decision = "review"
    face.save()
    AttendanceRecord.objects.all().delete()
    capture_services.face_confirm(face=face, by=alice)
    face.refresh_from_db()
    assert (face.decision, face.decided_by) == ("confirmed", alice)
    assert AttendanceRecord.objects.get(student=face.student).status == "present"


def test_a_face_can_only_be_given_a_student_on_the_roster(classroom, client, alice, student):
    capture = process(new_capture(classroom, class_photo_bytes([STRANGER])))
    face = capture.faces.get()
    client.force_login(alice)
    response = client.post(
        reverse("attendance:face_assign", args=[face.pk]),
        {"student": student.pk},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_enrolled"
    face.refresh_from_db()
    assert face.student is None


def test_a_photo_named_like_a_web_page_is_stored_and_served_as_an_image(client, alice, session):
    client.force_login(alice)
    client.post(
        reverse("attendance:capture_upload", args=[session.pk]),
        {"images": upload(jpeg_bytes(), "evil.html")},
    )
    capture = Capture.objects.get()
    assert capture.image.name.endswith(".jpg")
    response = client.get(reverse("attendance:capture_file", args=[capture.pk]))
    assert response["Content-Type"] == "image/jpeg"


def test_a_malformed_face_correction_gets_a_400_and_changes_nothing(client, alice, session):
    capture = capture_services.capture_create(
        session=session, image_file=upload(jpeg_bytes()), source="upload", by=alice
    )
    face = DetectedFace.objects.create(
        capture=capture, index=0, box=[0, 0, 10, 10], detector_score=0.99, decision="unknown"
    )
    client.force_login(alice)
    response = client.post(reverse("attendance:face_assign", args=[face.pk]), {"student": "abc"})
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()
    response = client.post(
        reverse("attendance:face_confirm", args=[face.pk]), headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nothing_to_confirm"
    face.refresh_from_db()
    assert (face.student, face.decision, face.decided_by) == (None, "unknown", None)


def test_an_unexpected_crash_marks_the_capture_failed_instead_of_processing_forever(
    session, monkeypatch
):
    import facerec
    from tests.support.faces import model_or_skip

    model_or_skip()
    capture = capture_services.capture_create(
        session=session, image_file=upload(jpeg_bytes()), source="upload", by=None
    )

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no more memory")

    monkeypatch.setattr(facerec, "analyze_photo", out_of_memory)
    with pytest.raises(MemoryError):
        capture_services.capture_process(capture_id=capture.pk)
    capture.refresh_from_db()
    assert (capture.state, capture.failure_code) == ("failed", "processing_error")
    assert "Process again" in capture.failure_reason
