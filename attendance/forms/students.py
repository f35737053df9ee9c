"""The student form. Shape only; rules are the student services'."""

from __future__ import annotations

from django import forms

from attendance.models import Student


class StudentForm(forms.ModelForm):
    consent = forms.BooleanField(
        required=False, label="Photo consent given (recorded under your name, with the time)"
    )

    class Meta:
        model = Student
        fields = ["student_number", "full_name", "email"]
