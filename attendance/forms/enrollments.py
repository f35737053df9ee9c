"""Enrolling a student in a course. Shape only; rules are the course services'."""

from __future__ import annotations

from django import forms

from attendance.forms.widgets import DateInput
from attendance.models import Student


class EnrollmentForm(forms.Form):
    student = forms.ModelChoiceField(queryset=Student.objects.filter(active=True))
    joined_on = forms.DateField(widget=DateInput)
