"""Class sessions: one, a weekly series, and a manual mark. Shape only; rules are services'."""

from __future__ import annotations

from django import forms

from attendance.forms.widgets import DateInput, TimeInput
from attendance.models import REMARK_MAX_LENGTH, AttendanceRecord
from attendance.validators import no_control_characters

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


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


class MarkUnmarkedForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (AttendanceRecord.Status.PRESENT, "Present"),
            (AttendanceRecord.Status.ABSENT, "Absent"),
        ]
    )


class MarkUnmarkedUndoForm(MarkUnmarkedForm):
    """The Undo of "mark all unmarked": the students that call marked, as ids with commas."""

    students = forms.CharField(max_length=100_000)

    def clean_students(self) -> list[int]:
        text = self.cleaned_data["students"]
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Students are ids separated by commas.") from None


class MarkForm(forms.Form):
    student = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=AttendanceRecord.Status.choices)
    reason = forms.CharField(max_length=500, required=False)


class ClearForm(forms.Form):
    student = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, required=False)


class RemarkForm(forms.Form):
    student = forms.IntegerField(widget=forms.HiddenInput)
    # The service measures the length too; the form only keeps the shape.
    remark = forms.CharField(max_length=REMARK_MAX_LENGTH, required=False, strip=True)
