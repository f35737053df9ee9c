"""Attendance marks and the audit trail.

Every change of a record goes through :func:`attendance_mark`, which locks the row, writes the new
state and appends one :class:`AttendanceChange`; marking the same thing twice writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.errors import Conflict, InvalidInput, NotOnRoster
from attendance.models import (
    REMARK_MAX_LENGTH,
    AttendanceChange,
    AttendanceRecord,
    ClassSession,
    DetectedFace,
    Enrollment,
    Student,
)
from attendance.selectors.sessions import roster_students

Status = AttendanceRecord.Status
Source = AttendanceRecord.Source


@dataclass(frozen=True)
class MarkResult:
    record: AttendanceRecord
    changed: bool


def _require_open(session: ClassSession) -> None:
    if not session.is_open:
        raise Conflict(
            "This session is finalized; reopen it before changing attendance.",
            code="session_finalized",
        )


def require_on_roster(*, session: ClassSession, student: Student) -> None:
    """The one check that ``student`` belongs on ``session``'s roster (enrolled in its course on
    its date); every mark and every face assignment goes through it."""
    enrolled = Enrollment.objects.filter(
        course_id=session.course_id, student=student, joined_on__lte=session.date
    ).exclude(left_on__lt=session.date)
    if not enrolled.exists():
        raise NotOnRoster(
            f"{student.full_name} was not enrolled in {session.course.code} on "
            f"{session.date:%Y-%m-%d}."
        )


def _locked_record(session: ClassSession, student: Student) -> AttendanceRecord | None:
    return (
        AttendanceRecord.objects.select_for_update()
        .filter(session=session, student=student)
        .first()
    )


@transaction.atomic
def attendance_mark(
    *,
    session: ClassSession,
    student: Student,
    status: str,
    source: str,
    by: User | None = None,
    confidence: float | None = None,
    face: DetectedFace | None = None,
    reason: str = "",
    overwrite_manual: bool = True,
) -> MarkResult:
    """Set ``student``'s status for ``session`` and log the change.

    ``overwrite_manual=False`` is what face recognition passes: a mark a person set by hand is never
    replaced by an automatic one (a teacher's "excused" survives a later class photo).
    """
    if status not in Status.values:
        raise InvalidInput(f"Unknown status {status!r}.", code="invalid_status")
    _require_open(session)
    require_on_roster(session=session, student=student)
    record = _locked_record(session, student)
    if record is None:
        record = _create_record(session, student, status, source, by, confidence, face, reason)
        if record is not None:
            return MarkResult(record=record, changed=True)
        # Another writer created it between our read and insert: lock theirs and carry on.
        record = _locked_record(session, student)
        assert record is not None  # the other writer's row is committed before our insert failed
    if not overwrite_manual and record.source in {Source.MANUAL, Source.API}:
        return MarkResult(record=record, changed=False)
    if record.status == status and (record.source == source or source == Source.FACE):
        return MarkResult(record=record, changed=False)
    _log_change(
        record,
        old_status=record.status,
        old_source=record.source,
        status=status,
        source=source,
        by=by,
        reason=reason,
    )
    record.status, record.source = status, source
    record.confidence, record.face = confidence, face
    record.marked_by, record.marked_at = by, timezone.now()
    record.save()
    return MarkResult(record=record, changed=True)


def _create_record(
    session: ClassSession,
    student: Student,
    status: str,
    source: str,
    by: User | None,
    confidence: float | None,
    face: DetectedFace | None,
    reason: str,
) -> AttendanceRecord | None:
    """Insert the first record, or None when a concurrent writer inserted it first."""
    record = AttendanceRecord(
        session=session,
        student=student,
        status=status,
        source=source,
        confidence=confidence,
        face=face,
        marked_by=by,
    )
    try:
        # A savepoint, so that losing the race does not poison the caller's transaction.
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return None
    _log_change(
        record,
        old_status="",
        old_source="",
        status=status,
        source=source,
        by=by,
        reason=reason,
    )
    return record


def _log_change(
    record: AttendanceRecord,
    *,
    old_status: str,
    old_source: str,
    status: str,
    source: str,
    by: User | None,
    reason: str,
    old_remark: str | None = None,
) -> None:
    AttendanceChange.objects.create(
        session_id=record.session_id,
        student_id=record.student_id,
        record=record,
        old_status=old_status,
        old_source=old_source,
        new_status=status,
        new_source=source,
        old_remark=record.remark if old_remark is None else old_remark,
        new_remark=record.remark,
        changed_by=by,
        reason=reason,
    )


@transaction.atomic
def attendance_remark(
    *,
    session: ClassSession,
    student: Student,
    remark: str,
    by: User | None,
    reason: str = "",
) -> MarkResult:
    """Set the short remark of ``student``'s record ("doctor's note"); audited like a status change.

    A remark explains a mark, so the student must be marked first. The same remark twice writes
    nothing.
    """
    remark = remark.strip()
    if len(remark) > REMARK_MAX_LENGTH:
        raise InvalidInput(
            f"A remark can be at most {REMARK_MAX_LENGTH} characters (this one has {len(remark)}).",
            code="remark_too_long",
        )
    _require_open(session)
    record = _locked_record(session, student)
    if record is None:
        raise InvalidInput(
            f"{student.full_name} has no mark yet; set a status before adding a remark.",
            code="not_marked",
        )
    if record.remark == remark:
        return MarkResult(record=record, changed=False)
    old_remark, record.remark = record.remark, remark
    record.save(update_fields=["remark"])
    _log_change(
        record,
        old_status=record.status,
        old_source=record.source,
        status=record.status,
        source=record.source,
        by=by,
        reason=reason or "Remark changed.",
        old_remark=old_remark,
    )
    return MarkResult(record=record, changed=True)


@transaction.atomic
def attendance_mark_unmarked(
    *, session: ClassSession, status: str, by: User | None
) -> list[Student]:
    """Give every student on the roster who has no mark yet ``status`` ("mark all unmarked
    present"); returns them. Students already marked keep their mark, so pressing it twice
    marks nobody the second time."""
    if status not in Status.values:
        raise InvalidInput(f"Unknown status {status!r}.", code="invalid_status")
    _require_open(session)
    marked = AttendanceRecord.objects.filter(session=session).values_list("student_id", flat=True)
    students = list(roster_students(session=session).exclude(pk__in=marked))
    for student in students:
        attendance_mark(
            session=session,
            student=student,
            status=status,
            source=Source.MANUAL,
            by=by,
            reason="Marked with everyone not marked yet.",
            overwrite_manual=False,
        )
    return students


@transaction.atomic
def session_finalize(*, session: ClassSession, by: User | None) -> int:
    """Close the session: every enrolled student still unmarked becomes absent. Returns how many.

    Finalizing twice is harmless: the second call finds nobody unmarked and changes nothing.
    """
    # The lock makes two teachers pressing "finalize" at once take turns; the second finds the
    # session closed and does nothing.
    if not ClassSession.objects.select_for_update().get(pk=session.pk).is_open:
        session.refresh_from_db()
        return 0
    marked = AttendanceRecord.objects.filter(session=session).values_list("student_id", flat=True)
    unmarked = (
        Student.objects.filter(
            enrollments__course_id=session.course_id,
            enrollments__joined_on__lte=session.date,
        )
        .exclude(enrollments__left_on__lt=session.date)
        .exclude(pk__in=marked)
    )
    count = 0
    for student in unmarked:
        attendance_mark(
            session=session,
            student=student,
            status=Status.ABSENT,
            source=Source.FINALIZE,
            by=by,
            reason="Not seen by the end of the session.",
        )
        count += 1
    session.state = ClassSession.State.FINALIZED
    session.finalized_at, session.finalized_by = timezone.now(), by
    session.save(update_fields=["state", "finalized_at", "finalized_by", "updated_at"])
    return count


@transaction.atomic
def session_reopen(*, session: ClassSession, by: User | None) -> None:
    """Let a teacher fix marks after finalizing; the audit trail keeps what happened before."""
    session.state = ClassSession.State.OPEN
    session.finalized_at, session.finalized_by = None, None
    session.save(update_fields=["state", "finalized_at", "finalized_by", "updated_at"])


@transaction.atomic
def attendance_clear(
    *, session: ClassSession, student: Student, by: User | None, reason: str
) -> bool:
    """Remove ``student``'s mark (back to "not marked yet"); the audit trail keeps the history."""
    _require_open(session)
    record = _locked_record(session, student)
    if record is None:
        return False
    old_remark, record.remark = record.remark, ""
    _log_change(
        record,
        old_status=record.status,
        old_source=record.source,
        status="",
        source="",
        by=by,
        reason=reason,
        old_remark=old_remark,
    )
    record.delete()
    return True
