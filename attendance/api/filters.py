"""Query filters of the API's lists: by course, session, student and session date range.

Each id filter names what it points at (a course, session, student or capture) and first looks the
id up among the things the caller may see: an id of someone else's course filters to an empty page,
exactly as an id that does not exist. Matching inside the caller's visible rows is not enough: a
student enrolled in alice's course and bob's is visible to alice, so ``?course=<bob's>`` would
list that student and tell alice that bob's course exists and who is in it.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from attendance.models import (
    AttendanceRecord,
    Capture,
    ClassSession,
    DetectedFace,
    ReferencePhoto,
)
from attendance.selectors import access
from attendance.selectors.sessions import roster_students

MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """``?course=7``: rows of course 7, if the caller may see course 7; otherwise none.

    ``visible`` is the access selector of the thing the id names (``courses_visible_to``)."""

    field_class = forms.IntegerField

    def __init__(self, *args, visible, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
        self.visible = visible

    def filter(self, qs: QuerySet, value: int | None) -> QuerySet:
        if value is None:
            return qs
        user = self.parent.request.user
        if not self.visible(user).filter(pk=value).exists():
            return qs.none()
        return super().filter(qs, value)


def course_id(field_name: str, **kwargs) -> IdFilter:
    return IdFilter(
        field_name=field_name, visible=access.courses_visible_to, help_text="Course id.", **kwargs
    )


def session_id(field_name: str) -> IdFilter:
    return IdFilter(
        field_name=field_name, visible=access.sessions_visible_to, help_text="Session id."
    )


def student_id(field_name: str) -> IdFilter:
    return IdFilter(
        field_name=field_name, visible=access.students_visible_to, help_text="Student id."
    )


def capture_id(field_name: str) -> IdFilter:
    return IdFilter(
        field_name=field_name, visible=access.captures_visible_to, help_text="Capture id."
    )


class CourseFilter(django_filters.FilterSet):
    term = django_filters.CharFilter(help_text="For example 2026-fall.")
    code = django_filters.CharFilter()


class StudentFilter(django_filters.FilterSet):
    course = course_id("enrollments__course_id", distinct=True)
    session = IdFilter(
        method="on_roster_of",
        visible=access.sessions_visible_to,
        help_text="Session id: the students on its roster (enrolled in its course on its date).",
    )
    active = django_filters.BooleanFilter()

    def on_roster_of(self, queryset, name: str, value: int):
        # Only a session the caller may see narrows anything; another's answers an empty page.
        session = access.sessions_visible_to(self.request.user).filter(pk=value).first()
        if session is None:
            return queryset.none()
        return queryset.filter(pk__in=roster_students(session=session).values("pk"))


class EnrollmentFilter(django_filters.FilterSet):
    course = course_id("course_id")
    student = student_id("student_id")


class SessionFilter(django_filters.FilterSet):
    course = course_id("course_id")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    state = django_filters.ChoiceFilter(choices=ClassSession.State.choices)


class PhotoFilter(django_filters.FilterSet):
    student = student_id("student_id")
    course = course_id("student__enrollments__course_id", distinct=True)
    status = django_filters.ChoiceFilter(choices=ReferencePhoto.Status.choices)


class CaptureFilter(django_filters.FilterSet):
    course = course_id("session__course_id")
    session = session_id("session_id")
    state = django_filters.ChoiceFilter(choices=Capture.State.choices)


class FaceFilter(django_filters.FilterSet):
    capture = capture_id("capture_id")
    session = session_id("capture__session_id")
    decision = django_filters.ChoiceFilter(choices=DetectedFace.Decision.choices)


class RecordFilter(django_filters.FilterSet):
    course = course_id("session__course_id")
    session = session_id("session_id")
    student = student_id("student_id")
    date_from = django_filters.DateFilter(field_name="session__date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="session__date", lookup_expr="lte")
    status = django_filters.ChoiceFilter(choices=AttendanceRecord.Status.choices)


# Strict query strings ---------------------------------------------------------------------------

# Parameters every list takes besides its filters: the page, its size, DRF's renderer choice.
LIST_PARAMETERS = ("page", "page_size", "format")


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, but a list asked with a parameter it does not know is a 400 naming the ones
    it does: ``/api/faces/?student=1`` must not quietly return every face."""

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", None) == "list":
            _refuse_unknown(request, self.get_filterset_class(view, queryset))
        return super().filter_queryset(request, queryset, view)


def _refuse_unknown(request, filterset_class) -> None:
    known = list(filterset_class.base_filters) if filterset_class else []
    allowed = [*known, *LIST_PARAMETERS]
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise ValidationError(
            {
                name: [f"Unknown parameter; this list takes {', '.join(allowed)}."]
                for name in unknown
            }
        )
