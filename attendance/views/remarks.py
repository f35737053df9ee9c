"""The remark on a record ("doctor's note"), set from a plain form on the session page (no JS)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.http import require_POST

from attendance.models import REMARK_MAX_LENGTH
from attendance.selectors.access import session_get
from attendance.selectors.sessions import roster_students
from attendance.services import records as record_services
from attendance.views.errors import answer, invalid_form
from attendance.views.sessions import back_to


class RemarkForm(forms.Form):
    student = forms.IntegerField(widget=forms.HiddenInput)
    # The service measures the length too; the form only keeps the shape.
    remark = forms.CharField(max_length=REMARK_MAX_LENGTH, required=False, strip=True)


@require_POST
@login_required
def session_remark(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    back = back_to(request, session)
    form = RemarkForm(request.POST)
    if not form.is_valid():
        return invalid_form(request, f"The remark was not saved: {form.errors.as_text()}", back)
    student = get_object_or_404(roster_students(session=session), pk=form.cleaned_data["student"])
    return answer(
        request,
        lambda: record_services.attendance_remark(
            session=session, student=student, remark=form.cleaned_data["remark"], by=request.user
        ),
        f"Remark saved for {student.full_name}.",
        back,
    )


urlpatterns = [
    path("sessions/<int:pk>/remark/", session_remark, name="session_remark"),
]
