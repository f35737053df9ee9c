"""Inviting a teacher or an admin. Shape only; rules are the teacher services'."""

from __future__ import annotations

from django import forms

from attendance.validators import no_control_characters


class TeacherInviteForm(forms.Form):
    full_name = forms.CharField(max_length=150, validators=[no_control_characters])
    email = forms.EmailField(help_text="The invitation link goes here.")
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        help_text="Letters, digits and @ . + - _ only; what they sign in with.",
    )
    role = forms.ChoiceField(
        choices=[("teacher", "Teacher (sees the courses they teach)"), ("admin", "Admin")],
        initial="teacher",
        widget=forms.RadioSelect,
    )
