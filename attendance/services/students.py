"""Students, their photo consent, and the removal of their biometric data."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from attendance.models import DetectedFace, ReferencePhoto, Student
from attendance.services import webhooks


@transaction.atomic
def student_create(
    *,
    student_number: str,
    full_name: str,
    email: str = "",
    consent_by: User | None = None,
) -> Student:
    """Create a student; ``consent_by`` (the staff member who saw it) records photo consent."""
    student = Student(
        student_number=student_number.strip(), full_name=full_name.strip(), email=email.strip()
    )
    if consent_by is not None:
        student.consent_given_at, student.consent_given_by = timezone.now(), consent_by
    student.full_clean()
    student.save()
    return student


@transaction.atomic
def student_update(*, student: Student, **fields: object) -> Student:
    for name in ("full_name", "email", "active"):
        if name in fields:
            setattr(student, name, fields[name])
    student.full_clean()
    student.save()
    return student


@transaction.atomic
def consent_record(*, student: Student, by: User) -> Student:
    student.consent_given_at, student.consent_given_by = timezone.now(), by
    student.save(update_fields=["consent_given_at", "consent_given_by", "updated_at"])
    return student


@transaction.atomic
def consent_withdraw(*, student: Student) -> Student:
    """Withdrawn consent removes every photo, crop and embedding of the student, in the database
    and on disk. Attendance marks stay: they are records, not biometrics."""
    student_biometrics_erase(student=student)
    student.consent_given_at, student.consent_given_by = None, None
    student.save(update_fields=["consent_given_at", "consent_given_by", "updated_at"])
    return student


@transaction.atomic
def student_delete(*, student: Student) -> None:
    student_biometrics_erase(student=student)
    student.delete()


def _delete_after_commit(files: Sequence[FieldFile]) -> None:
    # Files go only once the rows are gone for good: a rolled-back delete must not lose photos.
    targets = [(f.storage, f.name) for f in files if f and f.name]

    def delete() -> None:
        for storage, name in targets:
            storage.delete(name)

    transaction.on_commit(delete)


def student_biometrics_erase(*, student: Student) -> None:
    """Delete reference photos and their crops, and scrub the student's faces found in captures
    (crop and embedding) so that nothing of their face stays once they are gone."""
    photos = list(ReferencePhoto.objects.select_for_update().filter(student=student))
    faces = list(DetectedFace.objects.select_for_update().filter(student=student))
    _delete_after_commit([p.image for p in photos] + [p.face_crop for p in photos])
    _delete_after_commit([face.crop for face in faces])
    ReferencePhoto.objects.filter(pk__in=[p.pk for p in photos]).delete()
    DetectedFace.objects.filter(pk__in=[f.pk for f in faces]).update(crop="", embedding=None)
    webhooks.webhooks_emit(event="student.erased", payload=webhooks.student_erased_payload(student))
