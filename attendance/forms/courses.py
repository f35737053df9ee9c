"""The course form (create and edit). Shape only; rules are the course services'."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from attendance.models import Course


class CourseForm(forms.ModelForm):
    teachers = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
    )

    class Meta:
        model = Course
        fields = [
            "code",
            "title",
            "term",
            "teachers",
            "attendance_threshold",
            "late_credit",
            "excused_policy",
        ]
