"""The automatic-match threshold each course's own reference photos support.

A threshold set on LFW does not transfer to every school: in a new domain, strangers can come
closer to a student than they did on LFW. The distances between different students' reference
photos of the course are a free sample of that school's strangers, so the threshold is
recalibrated on them (``facerec.calibrate_gallery``; never looser than the model's), stored per
course, recomputed when reference photos are added or removed, and used by capture matching.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from attendance.models import Course, GalleryCalibration, Student
from attendance.selectors.captures import Gallery, course_gallery


def gallery_digest(gallery: Gallery) -> str:
    """Identifies a gallery: the model version and the reference photos in it."""
    text = gallery.model_version + ":" + ",".join(map(str, sorted(gallery.photo_ids)))
    return hashlib.sha1(text.encode()).hexdigest()


@transaction.atomic
def gallery_calibration(
    *, course: Course, gallery: Gallery, model_threshold: float | None = None
) -> GalleryCalibration:
    """The course's calibration for ``gallery``: the stored one when it was computed from this
    very gallery, else computed now and stored (one row per course). model_threshold: the
    accept threshold of the gallery's model version (never exceeded); the shipped one's when
    None."""
    import facerec

    digest = gallery_digest(gallery)
    # Lock the course row: two captures of one course processed at once compute it once.
    Course.objects.select_for_update().filter(pk=course.pk).first()
    stored = GalleryCalibration.objects.filter(course=course).first()
    if stored is not None and stored.gallery_digest == digest:
        return stored
    result = facerec.calibrate_gallery(
        gallery.embeddings, gallery.labels, model_threshold=model_threshold
    )
    calibration = stored or GalleryCalibration(course=course)
    calibration.model_version, calibration.gallery_digest = gallery.model_version, digest
    calibration.threshold, calibration.far = result.threshold, result.far
    calibration.impostors, calibration.closest_impostor = result.impostors, result.closest_impostor
    calibration.students, calibration.photos = len(set(gallery.labels)), len(gallery.labels)
    calibration.full_clean()
    calibration.save()
    return calibration


def course_calibrate(*, course: Course) -> GalleryCalibration:
    """Recompute the course's calibration from its roster's reference photos today, for the
    serving model version."""
    from attendance.services.face_models import serving_model

    model = serving_model()
    gallery = course_gallery(course=course, model_version=model.version)
    return gallery_calibration(course=course, gallery=gallery, model_threshold=model.threshold)


def student_courses_calibrate(*, student_id: int) -> None:
    """After a student's reference photos changed: recalibrate every course they are in."""
    for course in Course.objects.filter(enrollments__student_id=student_id).distinct():
        course_calibrate(course=course)


def calibrate_after_commit(student: Student | int) -> None:
    """Recalibrate the student's courses once the current transaction commits (a photo added,
    rejected or removed); the capture service recomputes a stale calibration anyway."""
    student_id = student if isinstance(student, int) else student.pk
    transaction.on_commit(lambda: student_courses_calibrate(student_id=student_id))
