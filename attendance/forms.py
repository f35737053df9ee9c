"""Forms for the app's pages. They validate shape only; rules live in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from attendance.models import AttendanceRecord, Course, Student
from attendance.validators import no_control_characters

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"


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


class StudentForm(forms.ModelForm):
    consent = forms.BooleanField(
        required=False, label="Photo consent given (recorded under your name, with the time)"
    )

    class Meta:
        model = Student
        fields = ["student_number", "full_name", "email"]


class EnrollmentForm(forms.Form):
    student = forms.ModelChoiceField(queryset=Student.objects.filter(active=True))
    joined_on = forms.DateField(widget=DateInput)


class SessionForm(forms.Form):
    date = forms.DateField(widget=DateInput)
    start_time = forms.TimeField(widget=TimeInput)
    end_time = forms.TimeField(widget=TimeInput)
    room = forms.CharField(max_length=64, required=False, validators=[no_control_characters])


class RecurringSessionsForm(forms.Form):
    first_day = forms.DateField(widget=DateInput)
    last_day = forms.DateField(widget=DateInput)
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    start_time = forms.TimeField(widget=TimeInput)
    end_time = forms.TimeField(widget=TimeInput)
    room = forms.CharField(max_length=64, required=False, validators=[no_control_characters])


class MarkForm(forms.Form):
    student = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=AttendanceRecord.Status.choices)
    reason = forms.CharField(max_length=500, required=False)
