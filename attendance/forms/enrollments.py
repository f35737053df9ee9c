"""Enrolling students in a course and unenrolling them. Shape only; rules are the course
services'."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils import timezone

from attendance.forms.widgets import DateInput
from attendance.models import Course, Student
from attendance.selectors.people import students_enrollable


class EnrollmentForm(forms.Form):
    """Several students at once, from those not enrolled yet (a checkbox list the page's script
    makes searchable). Shown on a page, the list holds at most ``SHOWN`` students matching
    ``query`` (a school has thousands); posted, any student not enrolled yet is accepted."""

    SHOWN = 200

    students = forms.ModelMultipleChoiceField(
        queryset=Student.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    joined_on = forms.DateField(widget=DateInput, initial=timezone.localdate)

    def __init__(self, *args, course: Course, query: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        students = students_enrollable(course=course)
        self.available = students.count() if not self.is_bound else None
        if not self.is_bound:
            if query:
                students = students.filter(
                    Q(full_name__icontains=query) | Q(student_number__icontains=query)
                )
            students = students[: self.SHOWN]
        self.fields["students"].queryset = students
        self.fields["students"].label_from_instance = lambda s: (
            f"{s.full_name} ({s.student_number})"
        )


class EnrollmentEndForm(forms.Form):
    left_on = forms.DateField(widget=DateInput, label="Last day in the course")
