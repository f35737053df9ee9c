"""Courses, their teachers, enrollments and class sessions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.errors import Conflict, DomainError, InvalidInput
from attendance.models import (
    AttendanceRecord,
    AuditEvent,
    Capture,
    ClassSession,
    Course,
    Enrollment,
    Holiday,
    Student,
)
from attendance.services.audit import audit_event
from attendance.services.students import student_check_not_deleted


@transaction.atomic
def course_create(
    *,
    code: str,
    title: str,
    term: str,
    teachers: Sequence[User] = (),
    attendance_threshold: Decimal | None = None,
    late_credit: Decimal | None = None,
    excused_policy: str | None = None,
) -> Course:
    """Create a course; the rate rules left out keep the model's defaults (80%, late counts
    fully, excused left out of the rate)."""
    rules = {
        name: value
        for name, value in [
            ("attendance_threshold", attendance_threshold),
            ("late_credit", late_credit),
            ("excused_policy", excused_policy),
        ]
        if value is not None
    }
    course = Course(code=code.strip(), title=title.strip(), term=term.strip(), **rules)
    course.full_clean()
    course.save()
    course.teachers.set(teachers)
    return course


@transaction.atomic
def course_ensure(
    *,
    code: str,
    title: str,
    term: str,
    teachers: Sequence[User] = (),
    attendance_threshold: Decimal | None = None,
    late_credit: Decimal | None = None,
    excused_policy: str | None = None,
) -> tuple[Course, bool]:
    """``course_create``, except that the same course again (code, term and title) is returned
    as it is: the same request sent twice makes one course. Returns (course, created)."""
    existing = Course.objects.filter(code=code.strip(), term=term.strip()).first()
    if existing is not None and existing.title == title.strip():
        return existing, False
    course = course_create(
        code=code,
        title=title,
        term=term,
        teachers=teachers,
        attendance_threshold=attendance_threshold,
        late_credit=late_credit,
        excused_policy=excused_policy,
    )
    return course, True


@transaction.atomic
def course_update(
    *,
    course: Course,
    code: str,
    title: str,
    term: str,
    teachers: Iterable[User],
    attendance_threshold: Decimal,
    late_credit: Decimal,
    excused_policy: str,
    by: User | None = None,
) -> Course:
    """Change a course's name, teachers and rate rules; every field is given, as the edit form
    sends them all. What changed goes to the audit trail."""
    before = _course_fields(course)
    course.code, course.title, course.term = code.strip(), title.strip(), term.strip()
    course.attendance_threshold = attendance_threshold
    course.late_credit = late_credit
    course.excused_policy = excused_policy
    course.full_clean()
    course.save()
    course.teachers.set(teachers)
    after = _course_fields(course)
    changed = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if changed:
        audit_event(
            action=AuditEvent.Action.COURSE_CHANGED, by=by, subject=str(course), detail=changed
        )
    return course


def course_editable_fields(course: Course) -> dict[str, Any]:
    """A course's fields as ``course_update`` takes them: a partial change is these with some
    replaced."""
    return {
        "code": course.code,
        "title": course.title,
        "term": course.term,
        "teachers": list(course.teachers.all()),
        "attendance_threshold": course.attendance_threshold,
        "late_credit": course.late_credit,
        "excused_policy": course.excused_policy,
    }


def _course_fields(course: Course) -> dict[str, object]:
    """``course_editable_fields`` as the audit trail stores them (usernames, decimals as text)."""
    fields = course_editable_fields(course)
    return {
        **fields,
        "teachers": sorted(teacher.username for teacher in fields["teachers"]),
        "attendance_threshold": str(fields["attendance_threshold"]),
        "late_credit": str(fields["late_credit"]),
    }


@transaction.atomic
def course_delete(
    *, course: Course, by: User | None = None, refuse_with_records: bool = False
) -> None:
    """Delete a course with its sessions, photos and marks (files go after commit); audited.

    With ``refuse_with_records`` (the API) a course that holds attendance records is refused
    instead: records are deleted only where a person confirmed it (the Django admin)."""
    course = Course.objects.select_for_update().get(pk=course.pk)
    records = AttendanceRecord.objects.filter(session__course=course).count()
    if records and refuse_with_records:
        raise Conflict(
            f"{course.code} ({course.term}) has {records} attendance records; a course with "
            "records cannot be deleted. Keep it as it is (its reports stay available).",
            code="has_attendance_records",
        )
    audit_event(
        action=AuditEvent.Action.COURSE_DELETED,
        by=by,
        subject=f"{course} (deleted)",
        detail={"sessions": course.sessions.count(), "enrollments": course.enrollments.count()},
    )
    course.delete()


@transaction.atomic
def enrollment_create(
    *, student: Student, course: Course, joined_on: date | None = None
) -> Enrollment:
    """Enroll ``student`` from ``joined_on`` (today by default).

    Enrolling a student who is enrolled already changes nothing. A student who left and comes
    back gets a new enrollment period, so the sessions in between stay off their record; coming
    back before the day they left simply re-opens that period.
    """
    joined_on = joined_on or date.today()
    # Lock the student: two enrollments of the same student cannot interleave their checks.
    locked = Student.objects.select_for_update().filter(pk=student.pk).first()
    student_check_not_deleted(locked or student)
    periods = Enrollment.objects.filter(student=student, course=course).order_by("-joined_on")
    open_period = periods.filter(left_on__isnull=True).first()
    if open_period is not None:
        open_period.existed = True
        return open_period
    last = periods.first()
    if last is not None and last.left_on is not None and joined_on <= last.left_on:
        last.left_on = None
        last.save(update_fields=["left_on", "updated_at"])
        return last
    enrollment = Enrollment(student=student, course=course, joined_on=joined_on)
    enrollment.full_clean()
    enrollment.save()
    return enrollment


@transaction.atomic
def enrollments_upsert(*, items: list[dict], by: User | None) -> list[tuple[Enrollment, str]]:
    """Enroll many (student, course) pairs, all or nothing, as ``enrollment_create`` does one;
    an item with ``left_on`` also ends that enrollment. Returns (enrollment, outcome) per item:
    "created", "updated" (re-opened or ended) or "unchanged"."""
    results = []
    for index, item in enumerate(items):
        try:
            results.append(_enrollment_upsert_one(item, by))
        except DomainError as error:
            raise InvalidInput(f"Item {index}: {error.message}", code=error.code) from error
    return results


def _enrollment_upsert_one(item: dict, by: User | None) -> tuple[Enrollment, str]:
    student, course, left_on = item["student"], item["course"], item.get("left_on")
    joined_on = item.get("joined_on")
    if left_on is not None:
        # The period that was running on left_on is the one that ends then.
        period = (
            Enrollment.objects.filter(student=student, course=course, joined_on__lte=left_on)
            .order_by("-joined_on")
            .first()
        )
        if period is None:
            period = enrollment_create(student=student, course=course, joined_on=joined_on)
            return enrollment_end(enrollment=period, left_on=left_on, by=by), "created"
        if period.left_on == left_on:
            return period, "unchanged"
        return enrollment_end(enrollment=period, left_on=left_on, by=by), "updated"
    known = dict(
        Enrollment.objects.filter(student=student, course=course).values_list("pk", "left_on")
    )
    enrollment = enrollment_create(student=student, course=course, joined_on=joined_on)
    if enrollment.pk not in known:
        return enrollment, "created"
    return enrollment, "unchanged" if enrollment.existed else "updated"


def enrollments_create_many(
    *, course: Course, students: Iterable[Student], joined_on: date
) -> list[Enrollment]:
    """Enroll several students from the same day (the course page's enrol dialog). Each follows
    ``enrollment_create``'s rules, so one already enrolled is left as it is."""
    return [
        enrollment_create(student=student, course=course, joined_on=joined_on)
        for student in students
    ]


def enrollments_create_bulk(
    *, pairs: list[tuple[Student, Course]], joined_on: date
) -> list[Enrollment]:
    """Enroll students who have no enrollment yet (a roster's new students) in a few statements.
    An enrollment that exists already raises IntegrityError: use ``enrollment_create`` for those."""
    new = [Enrollment(student=s, course=c, joined_on=joined_on) for s, c in pairs]
    return Enrollment.objects.bulk_create(new, batch_size=1000)


@transaction.atomic
def enrollment_end(*, enrollment: Enrollment, left_on: date, by: User | None = None) -> Enrollment:
    """End an enrollment period on ``left_on`` (the last day the student belonged to it).
    Ending it again on the same day changes nothing."""
    if enrollment.left_on == left_on:
        return enrollment
    later = Enrollment.objects.filter(
        student_id=enrollment.student_id,
        course_id=enrollment.course_id,
        joined_on__gt=enrollment.joined_on,
        joined_on__lte=left_on,
    )
    if later.exists():
        raise InvalidInput(
            "The student rejoined before that day; end the later enrollment instead.",
            code="periods_overlap",
        )
    if left_on < enrollment.joined_on:
        raise InvalidInput("A student cannot leave before joining.", code="left_before_joined")
    enrollment.left_on = left_on
    enrollment.save(update_fields=["left_on", "updated_at"])
    audit_event(
        action=AuditEvent.Action.ENROLLMENT_ENDED,
        by=by,
        student=enrollment.student,
        subject=str(enrollment),
        detail={"course": enrollment.course_id, "left_on": left_on.isoformat()},
    )
    return enrollment


@transaction.atomic
def enrollment_delete(
    *, enrollment: Enrollment, by: User | None = None, refuse_with_records: bool = False
) -> None:
    """Remove an enrollment entered by mistake; audited. The student's attendance records stay;
    the sessions of that period no longer list them. With ``refuse_with_records`` (the API) an
    enrollment whose period has records of the student is refused: end it with a "left on" date."""
    records = AttendanceRecord.objects.filter(
        student_id=enrollment.student_id,
        session__course_id=enrollment.course_id,
        session__date__gte=enrollment.joined_on,
    )
    if enrollment.left_on is not None:
        records = records.filter(session__date__lte=enrollment.left_on)
    if refuse_with_records and records.exists():
        raise Conflict(
            f"{enrollment.student.full_name} has attendance records in this enrollment; end it "
            f"with a left_on date instead (PATCH /api/enrollments/{enrollment.pk}/).",
            code="has_attendance_records",
        )
    audit_event(
        action=AuditEvent.Action.ENROLLMENT_DELETED,
        by=by,
        student=enrollment.student,
        subject=f"{enrollment} (deleted)",
        detail={"course": enrollment.course_id, "joined_on": enrollment.joined_on.isoformat()},
    )
    enrollment.delete()


def session_ensure(
    *, course: Course, date: date, start_time: time, end_time: time, room: str = ""
) -> tuple[ClassSession, bool]:
    """``session_create``, except that the same session again (same start, end and room) is
    returned as it is. Returns (session, created)."""
    existing = ClassSession.objects.filter(course=course, date=date, start_time=start_time).first()
    if existing is not None and (existing.end_time, existing.room) == (end_time, room):
        return existing, False
    return session_create(
        course=course, date=date, start_time=start_time, end_time=end_time, room=room
    ), True


@transaction.atomic
def enrollment_update(
    *, enrollment: Enrollment, joined_on: date, left_on: date | None
) -> Enrollment:
    """Correct an enrollment period's dates (the Django admin's edit). The period may not start
    after it ends nor overlap another period of the same student in the same course."""
    Student.objects.select_for_update().filter(pk=enrollment.student_id).first()
    student_check_not_deleted(enrollment.student)
    if left_on is not None and left_on < joined_on:
        raise InvalidInput("A student cannot leave before joining.", code="left_before_joined")
    others = Enrollment.objects.filter(
        student_id=enrollment.student_id, course_id=enrollment.course_id
    ).exclude(pk=enrollment.pk)
    overlapping = others.filter(Q(left_on__isnull=True) | Q(left_on__gte=joined_on))
    if left_on is not None:
        overlapping = overlapping.filter(joined_on__lte=left_on)
    if overlapping.exists():
        raise InvalidInput(
            "The student has another enrollment in this course in those days; change that one.",
            code="periods_overlap",
        )
    enrollment.joined_on, enrollment.left_on = joined_on, left_on
    enrollment.full_clean()
    enrollment.save()
    return enrollment


def _check_times(start_time: time, end_time: time) -> None:
    if end_time <= start_time:
        raise InvalidInput("A session must end after it starts.", code="session_times")


@transaction.atomic
def session_create(
    *, course: Course, date: date, start_time: time, end_time: time, room: str = ""
) -> ClassSession:
    _check_times(start_time, end_time)
    if ClassSession.objects.filter(course=course, date=date, start_time=start_time).exists():
        raise InvalidInput(
            f"{course.code} already has a session on {date:%Y-%m-%d} at {start_time:%H:%M}.",
            code="session_exists",
        )
    session = ClassSession(
        course=course, date=date, start_time=start_time, end_time=end_time, room=room
    )
    session.full_clean()
    session.save()
    return session


@dataclass(frozen=True)
class WeeklyPlan:
    """What generating a term would do: the days to create, and each day left out with why."""

    days: list[date]
    skipped: list[tuple[date, str]]


def sessions_weekly_plan(
    *,
    course: Course,
    first_day: date,
    last_day: date,
    weekdays: set[int],
    start_time: time,
    end_time: time,
    room: str = "",
) -> WeeklyPlan:
    """The days of ``weekdays`` (0 = Monday) from ``first_day`` to ``last_day`` that would get a
    session: holidays (``Holiday``) and days with a session at that time already are left out.
    Writes nothing: the course page shows it as the preview."""
    _check_times(start_time, end_time)
    if last_day < first_day:
        raise InvalidInput("The last day comes before the first.", code="date_range")
    if not weekdays or not weekdays <= set(range(7)):
        raise InvalidInput("Choose at least one weekday.", code="weekdays")
    if (last_day - first_day).days > 366:
        raise InvalidInput("A term can span at most one year.", code="date_range")
    existing = set(
        ClassSession.objects.filter(
            course=course, start_time=start_time, date__range=(first_day, last_day)
        ).values_list("date", flat=True)
    )
    holidays = dict(
        Holiday.objects.filter(date__range=(first_day, last_day)).values_list("date", "name")
    )
    days, skipped = [], []
    for n in range((last_day - first_day).days + 1):
        day = first_day + timedelta(n)
        if day.weekday() not in weekdays:
            continue
        if day in holidays:
            skipped.append((day, f"holiday: {holidays[day]}"))
        elif day in existing:
            skipped.append((day, f"already has a session at {start_time:%H:%M}"))
        else:
            days.append(day)
    return WeeklyPlan(days, skipped)


@transaction.atomic
def sessions_generate_weekly(
    *,
    course: Course,
    first_day: date,
    last_day: date,
    weekdays: set[int],
    start_time: time,
    end_time: time,
    room: str = "",
) -> list[ClassSession]:
    """Create a session on each of ``weekdays`` (0 = Monday) from ``first_day`` to ``last_day``,
    except on holidays.

    Days that already have a session at that time are skipped, so running it twice (or after
    adding one session by hand) creates no duplicates. Returns the sessions created.
    """
    plan = sessions_weekly_plan(
        course=course,
        first_day=first_day,
        last_day=last_day,
        weekdays=weekdays,
        start_time=start_time,
        end_time=end_time,
    )
    new = [
        ClassSession(course=course, date=day, start_time=start_time, end_time=end_time, room=room)
        for day in plan.days
    ]
    return ClassSession.objects.bulk_create(new)


def _describe(sessions: list[ClassSession]) -> list[str]:
    return [f"{s.date:%Y-%m-%d} {s.start_time:%H:%M}" for s in sessions]


@transaction.atomic
def sessions_cancel(*, course: Course, session_ids: Iterable[int], by: User | None) -> int:
    """Cancel open sessions of ``course`` (they did not take place): they count for nobody and
    take no marks; marks they already have are kept. A finalized session is reopened first."""
    sessions = list(
        ClassSession.objects.select_for_update().filter(course=course, pk__in=list(session_ids))
    )
    finalized = [s for s in sessions if s.state == ClassSession.State.FINALIZED]
    if finalized:
        raise InvalidInput(
            f"{', '.join(_describe(finalized))} is finalized: reopen it before cancelling.",
            code="session_finalized",
        )
    to_cancel = [s for s in sessions if s.state == ClassSession.State.OPEN]
    if to_cancel:
        ClassSession.objects.filter(pk__in=[s.pk for s in to_cancel]).update(
            state=ClassSession.State.CANCELLED, updated_at=timezone.now()
        )
        audit_event(
            action=AuditEvent.Action.SESSIONS_CANCELLED,
            by=by,
            subject=f"{len(to_cancel)} session(s) of {course.code}",
            detail={"course_id": course.pk, "sessions": _describe(to_cancel)},
        )
    return len(to_cancel)


@transaction.atomic
def sessions_delete(*, course: Course, session_ids: Iterable[int], by: User | None) -> int:
    """Delete sessions of ``course`` that hold nothing. A session with a mark or a class photo
    is the school's record: all or nothing, the call is refused and names it (cancel it)."""
    sessions = list(
        ClassSession.objects.select_for_update().filter(course=course, pk__in=list(session_ids))
    )
    ids = [s.pk for s in sessions]
    used = set(
        AttendanceRecord.objects.filter(session_id__in=ids).values_list("session_id", flat=True)
    ) | set(Capture.objects.filter(session_id__in=ids).values_list("session_id", flat=True))
    if used:
        kept = _describe([s for s in sessions if s.pk in used])
        raise InvalidInput(
            f"Nothing was deleted: {', '.join(kept)} has marks or class photos; cancel it instead.",
            code="session_has_records",
        )
    if sessions:
        ClassSession.objects.filter(pk__in=ids).delete()
        audit_event(
            action=AuditEvent.Action.SESSIONS_DELETED,
            by=by,
            subject=f"{len(sessions)} session(s) of {course.code}",
            detail={"course_id": course.pk, "sessions": _describe(sessions)},
        )
    return len(sessions)


@transaction.atomic
def holiday_create(*, day: date, name: str, by: User | None) -> Holiday:
    """Add a day without classes; one name per date. Audited, as an edit in the admin is."""
    if Holiday.objects.filter(date=day).exists():
        raise InvalidInput(f"{day:%Y-%m-%d} is already a holiday.", code="holiday_exists")
    holiday = Holiday(date=day, name=name.strip())
    holiday.full_clean()
    holiday.save()
    _audit_holiday(AuditEvent.Action.HOLIDAY_ADDED, holiday, by)
    return holiday


@transaction.atomic
def holiday_delete(*, holiday: Holiday, by: User | None) -> None:
    """Give the day back to generated terms (sessions already made stay). Audited."""
    _audit_holiday(AuditEvent.Action.HOLIDAY_REMOVED, holiday, by)
    holiday.delete()


def _audit_holiday(action: str, holiday: Holiday, by: User | None) -> None:
    detail = {"date": holiday.date.isoformat(), "name": holiday.name}
    audit_event(action=action, by=by, subject=str(holiday), detail=detail)
