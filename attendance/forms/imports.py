"""The bulk roster import (a CSV, a ZIP of photos, or both). Shape only; rules are the import
service's."""

from __future__ import annotations

from django import forms


class RosterImportForm(forms.Form):
    roster = forms.FileField(
        required=False,
        label="Roster CSV",
        help_text="Columns: student_number, name, email, courses (codes separated by ';'), and "
        "optionally consent (yes/no: photo consent you have seen, recorded under your name).",
    )
    photos = forms.FileField(
        required=False,
        label="Photos ZIP",
        help_text="One folder per student, named by student number or full name "
        "(e.g. S001/1.jpg or Ada_Lovelace/1.jpg).",
    )

    def clean(self):
        data = super().clean()
        if not data.get("roster") and not data.get("photos"):
            raise forms.ValidationError("Choose a roster CSV, a photos ZIP, or both.")
        return data
