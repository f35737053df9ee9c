"""A course's term: the preview of generated weekly sessions, several sessions cancelled or
deleted at once, and the installation's holiday list (admins), which generation skips."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from attendance.errors import DomainError
from attendance.forms.sessions import RecurringSessionsForm
from attendance.forms.widgets import DateInput
from attendance.models import Holiday
from attendance.selectors.access import course_get
from attendance.services import courses as course_services
from attendance.validators import no_control_characters
from attendance.views.errors import form_refused, form_status, run_service
from attendance.views.guards import admin_required


class HolidayForm(forms.Form):
    date = forms.DateField(widget=DateInput)
    name = forms.CharField(max_length=100, validators=[no_control_characters])


@require_POST
@login_required
def sessions_generate_preview(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    back = reverse("attendance:course_detail", args=[course.pk])
    form = RecurringSessionsForm(request.POST)
    if not form.is_valid():
        return form_refused(request, form, title="No sessions to preview", back=back)
    data = {**form.cleaned_data, "weekdays": set(form.cleaned_data["weekdays"])}
    try:
        plan = course_services.sessions_weekly_plan(course=course, **data)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back)
    context = {"course": course, "plan": plan, "form": form, "hidden": form.cleaned_data}
    return render(request, "attendance/sessions_preview.html", context)


@require_POST
@login_required
def sessions_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    ids = [int(v) for v in request.POST.getlist("sessions") if v.isdigit()]
    action = request.POST.get("action")
    back = request.POST.get("back", "")
    target = back if back.startswith("?") else ""
    if not ids:
        messages.error(request, "Tick the sessions first.")
    elif action == "cancel":
        run_service(
            request,
            lambda: course_services.sessions_cancel(
                course=course, session_ids=ids, by=request.user
            ),
            lambda n: f"{n} session(s) cancelled.",
        )
    elif action == "delete":
        run_service(
            request,
            lambda: course_services.sessions_delete(
                course=course, session_ids=ids, by=request.user
            ),
            lambda n: f"{n} session(s) deleted.",
        )
    else:
        messages.error(request, "Choose cancel or delete.")
    return redirect(reverse("attendance:course_detail", args=[course.pk]) + target)


@admin_required
def holiday_list(request: HttpRequest) -> HttpResponse:
    form = HolidayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = run_service(
            request,
            lambda: course_services.holiday_create(
                day=form.cleaned_data["date"], name=form.cleaned_data["name"], by=request.user
            ),
            lambda h: f"{h} added: generated terms skip it.",
        )
        if created is not None:
            return redirect("attendance:holiday_list")
    context = {"form": form, "holidays": Holiday.objects.all()}
    return render(request, "attendance/holiday_list.html", context, status=form_status(request))


@require_POST
@admin_required
def holiday_delete(request: HttpRequest, pk: int) -> HttpResponse:
    holiday = get_object_or_404(Holiday, pk=pk)
    course_services.holiday_delete(holiday=holiday, by=request.user)
    messages.success(request, f"{holiday} removed.")
    return redirect("attendance:holiday_list")


urlpatterns = [
    path(
        "courses/<int:pk>/sessions/preview/",
        sessions_generate_preview,
        name="sessions_generate_preview",
    ),
    path("courses/<int:pk>/sessions/bulk/", sessions_bulk, name="sessions_bulk"),
    path("holidays/", holiday_list, name="holiday_list"),
    path("holidays/<int:pk>/delete/", holiday_delete, name="holiday_delete"),
]
