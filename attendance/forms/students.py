"""The student forms and the list's filters. Shape only; rules are the student services'."""

from __future__ import annotations

from django import forms

from attendance.models import Course, Student


class StudentForm(forms.ModelForm):
    consent = forms.BooleanField(
        required=False, label="Photo consent given (recorded under your name, with the time)"
    )

    class Meta:
        model = Student
        fields = ["student_number", "full_name", "email"]


class StudentEditForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = ["student_number", "full_name", "email"]


class StudentFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Name, number or email")
    course = forms.ModelChoiceField(
        queryset=Course.objects.order_by("-term", "code"), required=False, empty_label="Any course"
    )
    needs_photos = forms.BooleanField(required=False, label="Needs photos")
    no_consent = forms.BooleanField(required=False, label="No photo consent")
