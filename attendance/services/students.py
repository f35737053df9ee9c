"""Students, their photo consent, and the removal of their biometric data."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.utils import timezone

from attendance.errors import Conflict, DomainError, InvalidInput
from attendance.files import delete_after_commit
from attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AuditEvent,
    DetectedFace,
    Enrollment,
    ReferencePhoto,
    Student,
)
from attendance.services import webhooks
from attendance.services.audit import audit_event


@transaction.atomic
def student_create(
    *,
    student_number: str,
    full_name: str,
    email: str = "",
    consent_by: User | None = None,
    consent_method: str = "",
) -> Student:
    """Create a student; ``consent_by`` (the staff member who saw it) records photo consent,
    given in the way ``consent_method`` names."""
    student = student_build(
        student_number=student_number, full_name=full_name, email=email, consent_by=consent_by
    )
    if consent_by is not None:
        student.consent_method = consent_method
        student.full_clean(exclude=["consent_given_by"], validate_unique=False)
    student.validate_unique()
    student.save()
    if consent_by is not None:
        detail = {"method": consent_method} if consent_method else None
        audit_event(
            action=AuditEvent.Action.CONSENT_RECORDED, by=consent_by, student=student, detail=detail
        )
    return student


def student_build(
    *,
    student_number: str,
    full_name: str,
    email: str = "",
    consent_by: User | None = None,
) -> Student:
    """A checked, unsaved student (every field rule except the number's uniqueness, which the
    caller checks or leaves to the database)."""
    student = Student(
        student_number=student_number.strip(), full_name=full_name.strip(), email=email.strip()
    )
    if consent_by is not None:
        student.consent_given_at, student.consent_given_by = timezone.now(), consent_by
    # consent_given_by is the acting user, an object already loaded: checking that it exists
    # would cost a query per student in a 10,000-line import.
    student.full_clean(exclude=["consent_given_by"], validate_unique=False)
    return student


def students_create_bulk(*, students: list[Student]) -> list[Student]:
    """Insert students built by ``student_build`` in a few statements. A number taken meanwhile
    raises IntegrityError for the whole call (the caller's transaction decides what follows)."""
    created = Student.objects.bulk_create(students, batch_size=1000)
    for student in created:
        if student.consent_given_by is not None:
            audit_event(
                action=AuditEvent.Action.CONSENT_RECORDED,
                by=student.consent_given_by,
                student=student,
            )
    return created


# What ``student_update`` may change; the number too (a typo in it is fixed from the app).
STUDENT_FIELDS = ("student_number", "full_name", "email", "active")


@transaction.atomic
def student_update(*, student: Student, by: User | None = None, **fields: object) -> Student:
    """Change a student's number, name, email or ``active`` (False archives them: their records
    stay, they leave the lists). What changed goes to the audit trail."""
    student_check_not_deleted(student)
    changed = {
        name: [getattr(student, name), fields[name]]
        for name in STUDENT_FIELDS
        if name in fields and fields[name] != getattr(student, name)
    }
    for name in STUDENT_FIELDS:
        if name in fields:
            setattr(student, name, fields[name])
    student.full_clean()
    student.save()
    if changed:
        audit_event(
            action=AuditEvent.Action.STUDENT_CHANGED, by=by, student=student, detail=changed
        )
    return student


@transaction.atomic
def student_ensure(
    *,
    student_number: str,
    full_name: str,
    email: str = "",
    consent_by: User | None = None,
    consent_method: str = "",
) -> tuple[Student, bool]:
    """Create a student, or return the one with this number when it is the same person (the
    same request sent twice). Returns (student, created). A number that belongs to someone else
    is a conflict: change that student instead."""
    number = student_number.strip()
    existing = Student.objects.select_for_update().filter(student_number=number).first()
    if existing is None:
        created = student_create(
            student_number=number,
            full_name=full_name,
            email=email,
            consent_by=consent_by,
            consent_method=consent_method,
        )
        return created, True
    if (existing.full_name, existing.email) != (full_name.strip(), email.strip()):
        raise Conflict(
            f"Student number {number} belongs to {existing.full_name}; change that student "
            f"with PATCH /api/students/{existing.pk}/ instead.",
            code="student_number_taken",
        )
    if consent_by is not None and not existing.has_photo_consent:
        existing = consent_record(student=existing, by=consent_by, method=consent_method)
    return existing, False


BULK_LIMIT = 500


@transaction.atomic
def students_upsert(*, items: list[dict], by: User | None) -> list[tuple[Student, str]]:
    """Create or update many students by number, all or nothing: the first item that cannot be
    applied undoes the whole call. Returns (student, outcome) per item, outcome "created",
    "updated" or "unchanged". ``consent`` True records consent under ``by``; False never
    withdraws it (withdrawal erases photos, so it has its own call)."""
    results = []
    for index, item in enumerate(items):
        try:
            results.append(_student_upsert_one(item, by))
        except DomainError as error:
            raise InvalidInput(f"Item {index}: {error.message}", code=error.code) from error
    return results


def _student_upsert_one(item: dict, by: User | None) -> tuple[Student, str]:
    number = item["student_number"].strip()
    student = Student.objects.select_for_update().filter(student_number=number).first()
    consent_by = by if item.get("consent") else None
    method = item.get("consent_method", "")
    if student is None:
        fields = {k: item[k] for k in ("full_name", "email") if k in item}
        student = student_create(
            student_number=number, consent_by=consent_by, consent_method=method, **fields
        )
        if item.get("active") is False:
            student_update(student=student, active=False, by=by)
        return student, "created"
    before = student.updated_at
    changes = {k: item[k] for k in STUDENT_FIELDS if k in item}
    if any(changes[k] != getattr(student, k) for k in changes):
        student = student_update(student=student, by=by, **changes)
    if consent_by is not None and not student.has_photo_consent:
        student = consent_record(student=student, by=consent_by, method=method)
    return student, "unchanged" if student.updated_at == before else "updated"


@transaction.atomic
def consent_record(*, student: Student, by: User, method: str = "") -> Student:
    """Record photo consent, seen by ``by``, given in the way ``method`` names. Consent that is
    recorded already stays as it was (the same call twice is one record)."""
    student_check_not_deleted(student)
    student = Student.objects.select_for_update().get(pk=student.pk)
    if student.has_photo_consent:
        return student
    student.consent_given_at, student.consent_given_by = timezone.now(), by
    student.consent_method = method
    student.full_clean(exclude=["consent_given_by"])
    student.save(
        update_fields=["consent_given_at", "consent_given_by", "consent_method", "updated_at"]
    )
    audit_event(
        action=AuditEvent.Action.CONSENT_RECORDED,
        by=by,
        student=student,
        detail={"method": method} if method else None,
    )
    return student


def student_export(*, student: Student, by: User) -> bytes:
    """The student's data as a ZIP (see selectors.exports); the export itself is audited."""
    from attendance.selectors.exports import student_export_zip

    with transaction.atomic():
        audit_event(action=AuditEvent.Action.DATA_EXPORTED, by=by, student=student)
    return student_export_zip(student=student)


@transaction.atomic
def consent_withdraw(*, student: Student, by: User | None = None, method: str = "") -> Student:
    """Withdrawn consent removes every photo, crop and embedding of the student, in the database
    and on disk. Attendance marks stay: they are records, not biometrics. Withdrawing consent
    that is not recorded changes nothing (the same call twice is one withdrawal)."""
    # The row lock makes a capture being written now wait, then see the withdrawal.
    student = Student.objects.select_for_update().get(pk=student.pk)
    if not student.has_photo_consent:
        return student
    erased = student_biometrics_erase(student=student)
    student.consent_given_at, student.consent_given_by = None, None
    student.consent_method = ""
    student.save(
        update_fields=["consent_given_at", "consent_given_by", "consent_method", "updated_at"]
    )
    detail: dict[str, object] = {"why": "consent withdrawn", **erased}
    if method:
        detail["method"] = method
    audit_event(action=AuditEvent.Action.BIOMETRICS_ERASED, by=by, student=student, detail=detail)
    return student


@transaction.atomic
def student_delete(*, student: Student, by: User | None = None) -> None:
    """Delete a student: their biometrics (reference photos, faces in class photos, their name
    in other faces' suggestions) and contact details go at once, files after commit.

    Their attendance records stay, as the school's record: a student with records (or history)
    stays as a name and a number, marked deleted, with every enrollment ended today so that no
    later roster lists them. A student never marked leaves no row at all. Twice is harmless.
    """
    student = Student.objects.select_for_update().get(pk=student.pk)
    if student.deleted_at is not None:
        return
    erased = student_biometrics_erase(student=student)
    subject = f"{student} (deleted)"
    keeps_records = (
        AttendanceRecord.objects.filter(student=student).exists()
        or AttendanceChange.objects.filter(student=student).exists()
    )
    detail = {"why": "student deleted", "records_kept": keeps_records, **erased}
    if not keeps_records:
        audit_event(
            action=AuditEvent.Action.BIOMETRICS_ERASED, by=by, subject=subject, detail=detail
        )
        models.Model.delete(student)  # the row itself: Student.delete() routes back here
        return
    student.email, student.active, student.deleted_at = "", False, timezone.now()
    student.consent_given_at, student.consent_given_by = None, None
    student.save()
    _enrollments_end(student=student, on=timezone.localdate())
    audit_event(
        action=AuditEvent.Action.BIOMETRICS_ERASED,
        by=by,
        student=student,
        subject=subject,
        detail=detail,
    )


def _enrollments_end(*, student: Student, on: date) -> None:
    """End the student's open enrollments on ``on``; a period that would only start later never
    held a session, so it goes."""
    open_periods = Enrollment.objects.filter(student=student, left_on__isnull=True)
    open_periods.filter(joined_on__gt=on).delete()
    open_periods.update(left_on=on, updated_at=timezone.now())


def student_check_not_deleted(student: Student) -> None:
    """A deleted student is only a name on old records: nothing new is written about them."""
    if student.deleted_at is not None:
        raise InvalidInput(
            f"{student} was deleted; only their attendance records are kept.",
            code="student_deleted",
        )


def student_biometrics_erase(*, student: Student) -> dict[str, int]:
    """Delete the student's reference photos (rows and files) and erase their faces in class
    photos at once: crop, embedding and the link to them, and their name among other faces'
    candidates. Their attendance records stay, without the link to the face. Returns what was
    erased, for the audit trail."""
    from attendance.services.face_models import face_models_flag_for_student

    photos = ReferencePhoto.objects.select_for_update().filter(student=student)
    faces = list(DetectedFace.objects.select_for_update().filter(student=student))
    photo_count = len(photos)
    # Models trained with their photos are marked for retraining; the next one leaves them out.
    flagged = face_models_flag_for_student(student=student)
    photos.delete()  # files go after commit (attendance.files)
    delete_after_commit(face.crop for face in faces)
    AttendanceRecord.objects.filter(face__in=faces).update(face=None)
    DetectedFace.objects.filter(pk__in=[f.pk for f in faces]).update(
        crop="",
        embedding=None,
        backbone_embedding=None,
        student=None,
        distance=None,
        candidates=[],
        decision=DetectedFace.Decision.UNKNOWN,
    )
    suggestions = _candidates_forget(student_id=student.pk)
    webhooks.webhooks_emit(event="student.erased", payload=webhooks.student_erased_payload(student))
    return {
        "reference_photos": photo_count,
        "faces": len(faces),
        "suggestions": suggestions,
        "face_models_flagged": flagged,
    }


def _candidates_forget(*, student_id: int) -> int:
    """Remove the student from the candidate lists (top-N suggestions) of every face; returns
    how many faces named them."""
    faces = DetectedFace.objects.exclude(candidates=[])
    if connection.features.supports_json_field_contains:  # PostgreSQL: jsonb @> in the query
        faces = faces.filter(candidates__contains=[{"student_id": student_id}])
    naming = [
        face
        for face in faces.select_for_update().only("pk", "candidates")
        if any(c.get("student_id") == student_id for c in face.candidates)
    ]
    for face in naming:
        face.candidates = [c for c in face.candidates if c.get("student_id") != student_id]
    DetectedFace.objects.bulk_update(naming, ["candidates"], batch_size=500)
    return len(naming)
