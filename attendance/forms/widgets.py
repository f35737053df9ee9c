"""HTML5 date and time inputs shared by the forms."""

from __future__ import annotations

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"
