"""Enrolling students in a course and unenrolling them. Shape only; rules are the course
services'."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from attendance.forms.widgets import DateInput
from attendance.models import Course, Student
from attendance.selectors.people import students_enrollable


class EnrollmentForm(forms.Form):
    """Several students at once, from those not enrolled yet (a checkbox list the page's script
    makes searchable)."""

    students = forms.ModelMultipleChoiceField(
        queryset=Student.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    joined_on = forms.DateField(widget=DateInput, initial=timezone.localdate)

    def __init__(self, *args, course: Course, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["students"].queryset = students_enrollable(course=course)
        self.fields["students"].label_from_instance = lambda s: (
            f"{s.full_name} ({s.student_number})"
        )


class EnrollmentEndForm(forms.Form):
    left_on = forms.DateField(widget=DateInput, label="Last day in the course")
