"""The review of a face in a class photo. Shape only; rules are the capture services'."""

from __future__ import annotations

from django import forms


class FaceAssignForm(forms.Form):
    # Empty means "nobody on the roster": the face is unassigned.
    student = forms.IntegerField(required=False, min_value=1)
