"""Questions about class sessions: today's, and who belongs on a session's roster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from attendance.models import (
    AttendanceRecord,
    Capture,
    ClassSession,
    DetectedFace,
    Enrollment,
    Student,
)
from attendance.selectors.access import sessions_visible_to


def sessions_on(*, user: User, day: date | None = None) -> QuerySet[ClassSession]:
    return sessions_visible_to(user).filter(date=day or timezone.localdate())


def enrollments_covering(*, course_id: int, day: date) -> QuerySet[Enrollment]:
    """Enrollments in course ``course_id`` whose period covers ``day`` (joined on or before it,
    not left before it). THE rule of who belongs to a session: every roster question uses it."""
    return Enrollment.objects.filter(course_id=course_id, joined_on__lte=day).filter(
        Q(left_on__isnull=True) | Q(left_on__gte=day)
    )


def roster_students(*, session: ClassSession) -> QuerySet[Student]:
    """Students enrolled in the session's course on the session's date.

    One ``Exists`` over that course's enrollments: the student's enrollments in other courses
    never decide (a join with separate ``filter``/``exclude`` calls would mix the two).
    """
    covering = enrollments_covering(course_id=session.course_id, day=session.date)
    return Student.objects.filter(Exists(covering.filter(student_id=OuterRef("pk")))).order_by(
        "full_name", "student_number"
    )


@dataclass(frozen=True)
class RosterLine:
    student: Student
    record: AttendanceRecord | None

    @property
    def status(self) -> str:
        return self.record.status if self.record else ""


def session_roster(*, session: ClassSession) -> list[RosterLine]:
    records = {
        record.student_id: record
        for record in AttendanceRecord.objects.filter(session=session).select_related("marked_by")
    }
    return [
        RosterLine(student, records.get(student.pk)) for student in roster_students(session=session)
    ]


# Faces whose decision a person still owes (another helper may add more, e.g. "too_small").
AWAITING_REVIEW = (DetectedFace.Decision.REVIEW,)
UNFINISHED = (Capture.State.QUEUED, Capture.State.PROCESSING)


@dataclass(frozen=True)
class PendingReview:
    """What must be decided before a session can be finalized without losing a mark."""

    faces_by_capture: dict[int, list[int]]  # capture id -> face numbers (from 1) to review
    capture_ids: list[int]  # captures still queued or being processed
    face_ids: list[int] = field(default_factory=list)  # the faces to review, by id

    def as_dict(self) -> dict:
        return {
            "faces_to_review": self.face_count,
            "face_ids": self.face_ids,
            "captures_unfinished": len(self.capture_ids),
            "capture_ids": self.capture_ids,
            "message": self.message(),
        }

    @property
    def face_count(self) -> int:
        return sum(len(faces) for faces in self.faces_by_capture.values())

    def __bool__(self) -> bool:
        return bool(self.faces_by_capture or self.capture_ids)

    def message(self) -> str:
        """ "2 faces need your review (capture #4: faces 1, 3) and capture #5 is still being
        processed." """
        parts = []
        if self.faces_by_capture:
            count = self.face_count
            where = "; ".join(
                f"capture #{capture}: face{'s' if len(faces) > 1 else ''} "
                + ", ".join(map(str, faces))
                for capture, faces in self.faces_by_capture.items()
            )
            verb = "needs" if count == 1 else "need"
            parts.append(f"{count} face{'' if count == 1 else 's'} {verb} your review ({where})")
        if self.capture_ids:
            ids = ", ".join(f"#{pk}" for pk in self.capture_ids)
            verb = "is" if len(self.capture_ids) == 1 else "are"
            plural = "s" if len(self.capture_ids) > 1 else ""
            parts.append(f"capture{plural} {ids} {verb} still being processed")
        return " and ".join(parts) + "." if parts else ""


def session_pending_review(*, session: ClassSession) -> PendingReview:
    """Faces of the session awaiting a person's decision and captures not processed yet (two
    queries), for the session page, the finalize refusal and the API."""
    faces: dict[int, list[int]] = {}
    face_ids = []
    for face_id, capture_id, index in (
        DetectedFace.objects.filter(capture__session=session, decision__in=AWAITING_REVIEW)
        .order_by("capture_id", "index")
        .values_list("pk", "capture_id", "index")
    ):
        faces.setdefault(capture_id, []).append(index + 1)
        face_ids.append(face_id)
    unfinished = list(
        session.captures.filter(state__in=UNFINISHED).order_by("pk").values_list("pk", flat=True)
    )
    return PendingReview(faces_by_capture=faces, capture_ids=unfinished, face_ids=face_ids)
