"""Forms of the capture, reference-photo and bulk-import pages. Shape only; rules are services'."""

from __future__ import annotations

from django import forms


class FaceAssignForm(forms.Form):
    # Empty means "nobody on the roster": the face is unassigned.
    student = forms.IntegerField(required=False, min_value=1)


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
