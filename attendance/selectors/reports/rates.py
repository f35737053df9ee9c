"""How a rate is computed (the README repeats this):

* A session is *held* once it is finalized or its date is in the past. Sessions today or later that
  are still open are shown but count for nobody yet.
* A student *belongs* to a session when their enrollment covers its date (joined on or before, not
  left before). A student who joined mid-term is not absent for the sessions before they joined.
* In a held session a belonging student earns credit: present 1, late ``course.late_credit``,
  absent 0, no mark 0 (unmarked in a held session is absent). Excused follows
  ``course.excused_policy``: left out of the rate entirely, counted as present, or as absent.
* A student's rate is credit / counted sessions, in percent; a session's rate is the same over its
  students; the course's rate is the total credit over every counted cell. A rate with nothing
  counted is ``None`` (shown as "–"), never 0.
* A student whose rate is below ``course.attendance_threshold`` (percent) is flagged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, Course

Status = AttendanceRecord.Status
ExcusedPolicy = Course.ExcusedPolicy


UNMARKED = ""  # a student who belongs to the session but has no record
NOT_ENROLLED = None  # a cell where the student did not belong to the course on that date


def _percent(credit: float, counted: int) -> float | None:
    return None if counted == 0 else 100.0 * credit / counted


def credit_for(status: str, *, course: Course) -> float | None:
    """The credit a status earns in a held session, or None when it is left out of the rate."""
    if status == Status.PRESENT:
        return 1.0
    if status == Status.LATE:
        return float(course.late_credit)
    if status == Status.EXCUSED:
        policy = course.excused_policy
        if policy == ExcusedPolicy.PRESENT:
            return 1.0
        return 0.0 if policy == ExcusedPolicy.ABSENT else None
    return 0.0  # absent, or no mark at all


def is_held(session: ClassSession, *, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    if session.state == ClassSession.State.CANCELLED:
        return False
    return session.state == ClassSession.State.FINALIZED or session.date < today


@dataclass
class Tally:
    """Counts of one row or column of the matrix."""

    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0
    unmarked: int = 0
    credit: float = 0.0
    counted: int = 0

    @property
    def rate(self) -> float | None:
        return _percent(self.credit, self.counted)

    def add(self, status: str, credit: float | None) -> None:
        if status == UNMARKED:
            self.unmarked += 1
        else:
            setattr(self, status, getattr(self, status) + 1)
        if credit is not None:
            self.credit += credit
            self.counted += 1

    @classmethod
    def of(cls, counts: Counter, credit_of: dict[str, float | None], *, held: bool) -> Tally:
        """From a count of statuses (None, "not enrolled", is ignored); credit only if held."""
        tally = cls(
            present=counts[Status.PRESENT],
            late=counts[Status.LATE],
            absent=counts[Status.ABSENT],
            excused=counts[Status.EXCUSED],
            unmarked=counts[UNMARKED],
        )
        if held:
            for status, credit in credit_of.items():
                if credit is not None and counts[status]:
                    tally.credit += credit * counts[status]
                    tally.counted += counts[status]
        return tally

    def merge(self, other: Tally) -> None:
        for name in ("present", "late", "absent", "excused", "unmarked", "credit", "counted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        rate = self.rate
        return {
            "present": self.present,
            "late": self.late,
            "absent": self.absent,
            "excused": self.excused,
            "unmarked": self.unmarked,
            "credit": round(self.credit, 4),
            "counted": self.counted,
            "rate": None if rate is None else round(rate, 1),
        }
