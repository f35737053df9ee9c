"""Each course's automatic-match threshold comes from its own reference photos: stored, kept up
to date when photos come and go, and used when a class photo is matched."""

from __future__ import annotations

import pytest

import facerec
from attendance.models import GalleryCalibration, ReferencePhoto
from attendance.selectors.captures import course_gallery
from attendance.services import calibration as calibration_services
from attendance.services import photos as photo_services
from tests.attendance.test_captures import new_capture, process, statuses
from tests.support.faces import CLASS, class_photo_bytes, make_classroom

pytestmark = pytest.mark.django_db


@pytest.fixture
def classroom(face_models, admin_user, alice, django_capture_on_commit_callbacks):
    """Five LFW people enrolled with two reference photos each, embedded as the task does (the
    calibration runs after each photo's transaction commits)."""
    room = make_classroom(admin_user, alice, CLASS)
    with django_capture_on_commit_callbacks(execute=True):
        for photo_id in ReferencePhoto.objects.values_list("pk", flat=True):
            photo_services.reference_photo_process(photo_id=photo_id)
    return room


def test_embedding_the_photos_stores_the_courses_calibration(classroom):
    calibration = GalleryCalibration.objects.get(course=classroom.course)
    gallery = course_gallery(course=classroom.course, model_version=facerec.model_version())
    expected = facerec.calibrate_gallery(gallery.embeddings, gallery.labels)

    assert (calibration.students, calibration.photos) == (5, 10)
    assert calibration.impostors == 10 * 4  # each photo against the four other students
    assert calibration.threshold == pytest.approx(expected.threshold)
    assert calibration.threshold <= facerec.model_info().threshold
    assert calibration.model_version == facerec.model_version()


def test_removing_a_photo_recalibrates_the_course(classroom, django_capture_on_commit_callbacks):
    photo = ReferencePhoto.objects.filter(student=classroom.student(CLASS[0])).first()

    with django_capture_on_commit_callbacks(execute=True):
        photo_services.reference_photo_delete(photo=photo)

    calibration = GalleryCalibration.objects.get(course=classroom.course)
    assert (calibration.students, calibration.photos) == (5, 9)
    assert calibration.impostors == 9 * 4


def test_a_class_photo_is_matched_with_the_courses_stored_threshold(classroom):
    # A stored threshold no real face can meet: every match must go to review, nobody marked.
    GalleryCalibration.objects.filter(course=classroom.course).update(threshold=0.01)

    capture = process(new_capture(classroom, class_photo_bytes(CLASS[:3])))

    decisions = list(capture.faces.values_list("decision", flat=True))
    assert capture.state == "done", capture.failure_reason
    assert decisions == ["review"] * 3
    assert set(statuses(classroom).values()) == {""}


def test_a_calibration_from_another_gallery_is_recomputed_before_matching(classroom):
    GalleryCalibration.objects.filter(course=classroom.course).update(
        threshold=0.01, gallery_digest="from-an-older-gallery"
    )

    capture = process(new_capture(classroom, class_photo_bytes(CLASS[:3])))

    calibration = GalleryCalibration.objects.get(course=classroom.course)
    assert calibration.threshold > 0.5
    assert statuses(classroom) == {p: "present" if p in CLASS[:3] else "" for p in CLASS}
    assert capture.faces.filter(decision="auto").count() == 3


def test_calibrating_twice_keeps_one_row_per_course(classroom):
    calibration_services.course_calibrate(course=classroom.course)
    calibration_services.course_calibrate(course=classroom.course)

    assert GalleryCalibration.objects.filter(course=classroom.course).count() == 1
