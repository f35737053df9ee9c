"""Growing the gallery: faces teachers confirm in class photos become extra reference faces.

Real classroom conditions are the best reference a student can have. In a course that opted in
(``Course.grow_gallery``), a face whose suggested student a teacher confirms is kept as one more
reference photo of that student (its crop, and its backbone vector so every model version embeds
it), if the student has photo consent. At most GROWN_PER_STUDENT per student, the oldest replaced
first. A face that is later corrected (given to another student or to nobody) is never used: its
grown photo goes at once. Erasure and retention treat it as any reference photo.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction

from attendance.models import Course, DetectedFace, ReferencePhoto, Student, embedding_from_bytes
from attendance.services.calibration import calibrate_after_commit

GROWN_PER_STUDENT = 3


@transaction.atomic
def gallery_grow(*, face: DetectedFace, by: User | None) -> ReferencePhoto | None:
    """Keep a confirmed face as a reference photo of its student; None when it may not be
    (course not opted in, no consent, no kept vector or crop, or already kept)."""
    from attendance.services import face_models
    from facerec.model import backbone_key

    course = face.capture.session.course
    if not course.grow_gallery or face.student_id is None:
        return None
    if face.decision != DetectedFace.Decision.CONFIRMED:
        return None
    student = Student.objects.select_for_update().get(pk=face.student_id)
    usable = face.backbone_embedding and face.backbone_key == backbone_key() and face.crop
    if not student.has_photo_consent or not usable:
        return None
    if ReferencePhoto.objects.filter(face=face).exists():
        return None
    with face.crop.open("rb") as handle:
        crop = handle.read()
    backbone = embedding_from_bytes(face.backbone_embedding)
    assert backbone is not None
    serving = face_models.serving_model()
    photo = ReferencePhoto(
        student=student,
        face=face,
        uploaded_by=by,
        status=ReferencePhoto.Status.READY,
        face_box=face.box,
        backbone_embedding=face.backbone_embedding,
        backbone_key=face.backbone_key,
        model_version=serving.version,
    )
    photo.image.save("face.jpg", ContentFile(crop), save=False)
    photo.face_crop.save("crop.jpg", ContentFile(crop), save=False)
    photo.save()
    face_models.photo_embeddings_write(photo=photo, backbone=backbone)
    photo.embedding = photo.embeddings.get(model_version=serving.version).embedding
    photo.save(update_fields=["embedding"])
    grown = ReferencePhoto.objects.filter(student=student, face__isnull=False)
    for old in grown.order_by("-created_at", "-pk")[GROWN_PER_STUDENT:]:
        old.delete()  # the oldest go first; files after commit (attendance.files)
    calibrate_after_commit(student.pk)
    return photo


def gallery_forget(*, faces: list[DetectedFace]) -> int:
    """These faces were corrected: a reference photo grown from them goes (files after commit)."""
    grown = list(ReferencePhoto.objects.filter(face__in=faces))
    for photo in grown:
        photo.delete()
        calibrate_after_commit(photo.student_id)
    return len(grown)


@transaction.atomic
def course_gallery_growth_set(*, course: Course, enabled: bool) -> Course:
    course = Course.objects.select_for_update().get(pk=course.pk)
    course.grow_gallery = enabled
    course.save(update_fields=["grow_gallery", "updated_at"])
    return course
