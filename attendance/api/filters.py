"""Query filters of the API's lists: by course, session, student and session date range.

Ids are plain integers matched inside the caller's visible rows, so an id of someone else's course
filters to an empty page, exactly as an id that does not exist.
"""

from __future__ import annotations

import django_filters
from django import forms

from attendance.models import (
    AttendanceRecord,
    Capture,
    ClassSession,
    DetectedFace,
    ReferencePhoto,
)
from attendance.selectors.access import sessions_visible_to
from attendance.selectors.sessions import roster_students

MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class CourseFilter(django_filters.FilterSet):
    term = django_filters.CharFilter(help_text="For example 2026-fall.")
    code = django_filters.CharFilter()


class StudentFilter(django_filters.FilterSet):
    course = IdFilter(field_name="enrollments__course_id", distinct=True, help_text="Course id.")
    session = IdFilter(
        method="on_roster_of",
        help_text="Session id: the students on its roster (enrolled in its course on its date).",
    )
    active = django_filters.BooleanFilter()

    def on_roster_of(self, queryset, name: str, value: int):
        # Only a session the caller may see narrows anything; another's answers an empty page.
        session = sessions_visible_to(self.request.user).filter(pk=value).first()
        if session is None:
            return queryset.none()
        return queryset.filter(pk__in=roster_students(session=session).values("pk"))


class EnrollmentFilter(django_filters.FilterSet):
    course = IdFilter(field_name="course_id", help_text="Course id.")
    student = IdFilter(field_name="student_id", help_text="Student id.")


class SessionFilter(django_filters.FilterSet):
    course = IdFilter(field_name="course_id", help_text="Course id.")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    state = django_filters.ChoiceFilter(choices=ClassSession.State.choices)


class PhotoFilter(django_filters.FilterSet):
    student = IdFilter(field_name="student_id", help_text="Student id.")
    status = django_filters.ChoiceFilter(choices=ReferencePhoto.Status.choices)


class CaptureFilter(django_filters.FilterSet):
    course = IdFilter(field_name="session__course_id", help_text="Course id.")
    session = IdFilter(field_name="session_id", help_text="Session id.")
    state = django_filters.ChoiceFilter(choices=Capture.State.choices)


class FaceFilter(django_filters.FilterSet):
    capture = IdFilter(field_name="capture_id", help_text="Capture id.")
    session = IdFilter(field_name="capture__session_id", help_text="Session id.")
    decision = django_filters.ChoiceFilter(choices=DetectedFace.Decision.choices)


class RecordFilter(django_filters.FilterSet):
    course = IdFilter(field_name="session__course_id", help_text="Course id.")
    session = IdFilter(field_name="session_id", help_text="Session id.")
    student = IdFilter(field_name="student_id", help_text="Student id.")
    date_from = django_filters.DateFilter(field_name="session__date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="session__date", lookup_expr="lte")
    status = django_filters.ChoiceFilter(choices=AttendanceRecord.Status.choices)
