"""Attendance marks and the audit trail.

Every change of a record goes through :func:`attendance_mark`, which locks the row, writes the new
state and appends one :class:`AttendanceChange`; marking the same thing twice writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from attendance.errors import Conflict, InvalidInput, NotOnRoster
from attendance.models import (
    REMARK_MAX_LENGTH,
    AttendanceChange,
    AttendanceRecord,
    AuditEvent,
    ClassSession,
    DetectedFace,
    Student,
)
from attendance.selectors.sessions import (
    roster_students,
    session_pending_review,
)
from attendance.services import webhooks
from attendance.services.audit import audit_event

Status = AttendanceRecord.Status
Source = AttendanceRecord.Source


@dataclass(frozen=True)
class MarkResult:
    record: AttendanceRecord
    changed: bool


def _require_open(session: ClassSession) -> None:
    if session.state == ClassSession.State.CANCELLED:
        raise Conflict(
            "This session was cancelled; it takes no attendance.", code="session_cancelled"
        )
    if not session.is_open:
        raise Conflict(
            "This session is finalized; reopen it before changing attendance.",
            code="session_finalized",
        )


def require_on_roster(*, session: ClassSession, student: Student) -> None:
    """The one check that ``student`` belongs on ``session``'s roster (enrolled in its course on
    its date); every mark and every face assignment goes through it."""
    _require_on_roster(session, [student])


def _locked_record(session: ClassSession, student: Student) -> AttendanceRecord | None:
    return _locked_records(session, [student.pk]).get(student.pk)


@dataclass(frozen=True)
class MarkRequest:
    """One student's new mark, with what ``attendance_mark`` takes for it."""

    student: Student
    status: str
    source: str
    by: User | None = None
    confidence: float | None = None
    face: DetectedFace | None = None
    reason: str = ""
    overwrite_manual: bool = True


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
    request = MarkRequest(student, status, source, by, confidence, face, reason, overwrite_manual)
    (result,) = attendance_mark_many(session=session, requests=[request])
    return result


@transaction.atomic
def attendance_mark_many(
    *, session: ClassSession, requests: Sequence[MarkRequest]
) -> list[MarkResult]:
    """Set several students' marks in one session, each exactly as ``attendance_mark`` sets one,
    in a handful of queries whatever their number (a class photo's 30 marks took ten queries
    each one at a time). Returns a result per request, in the requests' order.

    Every student must be on the roster (``NotOnRoster`` names the first who is not; nothing is
    written then) and appear once. Records are locked in student id order, as each writer locks
    them, so two captures of one session never deadlock.
    """
    for request in requests:
        if request.status not in Status.values:
            raise InvalidInput(f"Unknown status {request.status!r}.", code="invalid_status")
    students = [request.student for request in requests]
    if len({student.pk for student in students}) != len(students):
        raise ValueError("a student can be marked only once per call")
    if not requests:
        return []
    _require_open(session)
    _require_on_roster(session, students)
    records, created = _records_for(session, requests)
    results: dict[int, MarkResult] = {}
    changes = []
    for request in sorted(requests, key=lambda r: r.student.pk):
        record = records[request.student.pk]
        if record.pk in created:
            changes.append(_marked(session, record, request, old_status="", old_source=""))
        elif _keeps(record, request):
            results[request.student.pk] = MarkResult(record=record, changed=False)
            continue
        else:
            changes.append(_marked(session, record, request, record.status, record.source))
            record.status, record.source = request.status, request.source
            record.confidence, record.face = request.confidence, request.face
            record.marked_by, record.marked_at = request.by, timezone.now()
            record.save()
        results[request.student.pk] = MarkResult(record=record, changed=True)
    _log_changes(changes)
    return [results[request.student.pk] for request in requests]


def _require_on_roster(session: ClassSession, students: list[Student]) -> None:
    on_roster = set(
        roster_students(session=session)
        .filter(pk__in=[student.pk for student in students])
        .values_list("pk", flat=True)
    )
    for student in students:
        if student.pk not in on_roster:
            raise NotOnRoster(
                f"{student.full_name} was not enrolled in {session.course.code} on "
                f"{session.date:%Y-%m-%d}."
            )


def _keeps(record: AttendanceRecord, request: MarkRequest) -> bool:
    """Whether ``record`` stays as it is: a hand-set mark that the request may not overwrite,
    or the same status (a face seeing an already present student changes nothing)."""
    if not request.overwrite_manual and record.source in {Source.MANUAL, Source.API}:
        return True
    return record.status == request.status and (
        record.source == request.source or request.source == Source.FACE
    )


def _records_for(
    session: ClassSession, requests: Sequence[MarkRequest]
) -> tuple[dict[int, AttendanceRecord], set[int]]:
    """Each request's record by student id, locked, and the ids of the records created here."""
    records = _locked_records(session, [request.student.pk for request in requests])
    missing = [request for request in requests if request.student.pk not in records]
    if not missing:
        return records, set()
    new = [_new_record(session, request) for request in missing]
    try:
        # A savepoint: a record another writer inserted meanwhile only costs the slow path
        # below, never the caller's transaction.
        with transaction.atomic():
            AttendanceRecord.objects.bulk_create(new)
    except IntegrityError:
        return _records_one_by_one(session, missing, records)
    records.update({record.student_id: record for record in new})
    return records, {record.pk for record in new}


def _records_one_by_one(
    session: ClassSession, missing: list[MarkRequest], records: dict[int, AttendanceRecord]
) -> tuple[dict[int, AttendanceRecord], set[int]]:
    created = set()
    for request in sorted(missing, key=lambda r: r.student.pk):
        record = _new_record(session, request)
        try:
            with transaction.atomic():
                record.save(force_insert=True)
            created.add(record.pk)
        except IntegrityError:
            # The other writer's row is committed before our insert failed: lock it.
            record = _locked_records(session, [request.student.pk])[request.student.pk]
        records[request.student.pk] = record
    return records, created


def _locked_records(session: ClassSession, student_ids: list[int]) -> dict[int, AttendanceRecord]:
    rows = (
        AttendanceRecord.objects.select_for_update()
        .filter(session=session, student_id__in=student_ids)
        .order_by("student_id")
    )
    return {record.student_id: record for record in rows}


def _new_record(session: ClassSession, request: MarkRequest) -> AttendanceRecord:
    return AttendanceRecord(
        session=session,
        student=request.student,
        status=request.status,
        source=request.source,
        confidence=request.confidence,
        face=request.face,
        marked_by=request.by,
    )


def _marked(
    session: ClassSession,
    record: AttendanceRecord,
    request: MarkRequest,
    old_status: str,
    old_source: str,
) -> AttendanceChange:
    return _change(
        record,
        old_status=old_status,
        old_source=old_source,
        status=request.status,
        source=request.source,
        by=request.by,
        reason=request.reason,
        session=session,
    )


def _log_changes(changes: list[AttendanceChange]) -> None:
    """Store the audit rows and announce each one to the webhooks that subscribed."""
    AttendanceChange.objects.bulk_create(changes)
    webhooks.webhooks_emit_many(
        event="record.changed",
        payloads=[webhooks.record_changed_payload(change) for change in changes],
    )


def _change(
    record: AttendanceRecord,
    *,
    old_status: str,
    old_source: str,
    status: str,
    source: str,
    by: User | None,
    reason: str,
    old_remark: str | None = None,
    session: ClassSession | None = None,
) -> AttendanceChange:
    """One audit row of ``record``'s change (``session``, when the caller has it loaded, spares
    the webhook payload a query)."""
    change = AttendanceChange(
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
    if session is not None:
        change.session = session
    return change


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
    _log_changes(
        [
            _change(
                record,
                old_status=record.status,
                old_source=record.source,
                status=record.status,
                source=record.source,
                by=by,
                reason=reason or "Remark changed.",
                old_remark=old_remark,
            )
        ]
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


MARK_UNMARKED_UNDO_REASON = "Undo: marked with everyone not marked yet."


@transaction.atomic
def attendance_mark_unmarked_undo(
    *, session: ClassSession, student_ids: list[int], status: str, by: User | None
) -> list[Student]:
    """Take back a "mark all unmarked ``status``": clear the marks of ``student_ids`` (the
    students that call returned) that are still as it left them; returns whose were cleared.
    A mark changed since (another status, a remark, a face) is a later decision and stays."""
    _require_open(session)
    set_by_it = {"status": status, "source": Source.MANUAL, "face": None, "remark": ""}
    cleared = []
    students = Student.objects.filter(pk__in=student_ids).order_by("full_name", "student_number")
    for student in students:
        now = record_state(session=session, student_id=student.pk)
        if now is not None and record_state_matches(set_by_it, now):
            attendance_clear(
                session=session, student=student, by=by, reason=MARK_UNMARKED_UNDO_REASON
            )
            cleared.append(student)
    return cleared


@transaction.atomic
def session_finalize(*, session: ClassSession, by: User | None, force: bool = False) -> int:
    """Close the session: every student on the roster still unmarked becomes absent. Returns how
    many.

    Refused (``pending_review``) while a face awaits review or a capture is not processed yet,
    since either could still mark someone present; ``force`` finalizes anyway and the audit
    trail says so. Finalizing twice is harmless: the second call changes nothing.

    A fixed handful of queries whatever the roster's size: one insert for the absences and one
    for their audit rows (a 2,600-student session took 51 s one mark at a time).
    """
    # The lock makes two teachers pressing "finalize" at once take turns; the second finds the
    # session closed and does nothing.
    locked = ClassSession.objects.select_for_update().get(pk=session.pk)
    if not locked.is_open:
        session.refresh_from_db()
        return 0
    pending = session_pending_review(session=session)
    if pending and not force:
        raise Conflict(
            f"Not finalized: {pending.message()} Review them first, or finalize anyway.",
            code="pending_review",
        )
    absent = _mark_unmarked_absent(session, by)
    session.state = ClassSession.State.FINALIZED
    session.finalized_at, session.finalized_by = timezone.now(), by
    session.save(update_fields=["state", "finalized_at", "finalized_by", "updated_at"])
    audit_event(
        action=AuditEvent.Action.SESSION_FINALIZED,
        by=by,
        session=session,
        detail={
            "absent": absent,
            "forced": bool(pending) and force,
            "faces_to_review": pending.face_count,
            "unfinished_captures": pending.capture_ids,
        },
    )
    webhooks.webhooks_emit(
        event="session.finalized", payload=webhooks.session_finalized_payload(session, absent)
    )
    return absent


FINALIZE_REASON = "Not seen by the end of the session."


def _mark_unmarked_absent(session: ClassSession, by: User | None) -> int:
    unmarked = roster_students(session=session).exclude(
        Exists(AttendanceRecord.objects.filter(session=session, student_id=OuterRef("pk")))
    )
    ids = list(unmarked.order_by().values_list("pk", flat=True))
    now = timezone.now()
    records = [
        AttendanceRecord(
            session=session,
            student_id=student_id,
            status=Status.ABSENT,
            source=Source.FINALIZE,
            marked_by=by,
            marked_at=now,
        )
        for student_id in ids
    ]
    try:
        # A savepoint: a mark saved meanwhile (by a capture being processed) only costs the
        # slow path below, never the whole finalize.
        with transaction.atomic():
            AttendanceRecord.objects.bulk_create(records)
    except IntegrityError:
        return _mark_absent_one_by_one(session, ids, by)
    AttendanceChange.objects.bulk_create(
        AttendanceChange(
            session_id=session.pk,
            student_id=record.student_id,
            record=record,
            new_status=Status.ABSENT,
            new_source=Source.FINALIZE,
            changed_by=by,
            changed_at=now,
            reason=FINALIZE_REASON,
        )
        for record in records
    )
    return len(records)


def _mark_absent_one_by_one(session: ClassSession, student_ids: list[int], by: User | None) -> int:
    count = 0
    for student in Student.objects.filter(pk__in=student_ids).order_by("pk"):
        result = attendance_mark(
            session=session,
            student=student,
            status=Status.ABSENT,
            source=Source.FINALIZE,
            by=by,
            reason=FINALIZE_REASON,
            overwrite_manual=False,
        )
        count += result.changed and result.record.source == Source.FINALIZE
    return count


@transaction.atomic
def session_reopen(*, session: ClassSession, by: User | None) -> None:
    """Let a teacher fix marks after finalizing; the audit trail keeps what happened before."""
    locked = ClassSession.objects.select_for_update().get(pk=session.pk)
    if locked.is_open:
        return
    session.state = ClassSession.State.OPEN
    session.finalized_at, session.finalized_by = None, None
    session.save(update_fields=["state", "finalized_at", "finalized_by", "updated_at"])
    audit_event(action=AuditEvent.Action.SESSION_REOPENED, by=by, session=session)


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
    _log_changes(
        [
            _change(
                record,
                old_status=record.status,
                old_source=record.source,
                status="",
                source="",
                by=by,
                reason=reason,
                old_remark=old_remark,
            )
        ]
    )
    record.delete()
    return True


def record_state(*, session: ClassSession, student_id: int) -> dict | None:
    """What ``attendance_restore`` needs to put a record back as it is now (None: no mark), as
    JSON for the audit trail."""
    record = AttendanceRecord.objects.filter(session=session, student_id=student_id).first()
    if record is None:
        return None
    return {
        "status": record.status,
        "source": record.source,
        "confidence": record.confidence,
        "face": record.face_id,
        "marked_by": record.marked_by_id,
        "marked_at": record.marked_at.isoformat(),
        "remark": record.remark,
    }


def record_state_matches(state: dict | None, now: dict | None) -> bool:
    """Whether a record is still as ``state`` left it (who and when aside)."""
    if state is None or now is None:
        return state is None and now is None
    keys = ("status", "source", "face", "remark")
    return all(state[key] == now[key] for key in keys)


@transaction.atomic
def attendance_restore(
    *, session: ClassSession, student: Student, state: dict | None, by: User | None, reason: str
) -> bool:
    """Put ``student``'s record back to ``state`` (from :func:`record_state`), or clear it for
    None: how an undo gives back a mark exactly as it was. Audited; returns whether it changed."""
    if state is None:
        return attendance_clear(session=session, student=student, by=by, reason=reason)
    _require_open(session)
    record = _locked_record(session, student)
    if record is None:
        record = AttendanceRecord(session=session, student=student)
        old_status, old_source, old_remark = "", "", ""
    elif record_state_matches(state, record_state(session=session, student_id=student.pk)):
        return False
    else:
        old_status, old_source, old_remark = record.status, record.source, record.remark
    record.status, record.source = state["status"], state["source"]
    record.confidence, record.face_id = state["confidence"], state["face"]
    record.marked_by_id = state["marked_by"]
    record.marked_at = datetime.fromisoformat(state["marked_at"])
    record.remark = state["remark"]
    record.save()
    _log_changes(
        [
            _change(
                record,
                old_status=old_status,
                old_source=old_source,
                status=record.status,
                source=record.source,
                by=by,
                reason=reason,
                old_remark=old_remark,
            )
        ]
    )
    return True
