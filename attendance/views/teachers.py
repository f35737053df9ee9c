"""Teachers and admins, run from the app by an admin: the list, an invitation by email, and
deactivation. Passwords are never typed by an admin: the invitation mails a link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from attendance.errors import DomainError
from attendance.forms.teachers import TeacherInviteForm
from attendance.selectors.people import staff_list
from attendance.services import teachers as teacher_services
from attendance.views.errors import form_status, run_service
from attendance.views.guards import admin_required


@admin_required
def teacher_list(request: HttpRequest) -> HttpResponse:
    return render(request, "attendance/teacher_list.html", {"people": staff_list()})


@admin_required
def teacher_create(request: HttpRequest) -> HttpResponse:
    form = TeacherInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, sent = teacher_services.teacher_invite(
                **form.cleaned_data, by=request.user, base_url=request.build_absolute_uri("/")
            )
        except DomainError as error:
            form.add_error(getattr(error, "field", None), error.message)
        else:
            _say_sent(request, user, sent)
            return redirect("attendance:teacher_list")
    context = {"form": form, "title": "Invite a teacher", "submit": "Send invitation"}
    return render(request, "attendance/form.html", context, status=form_status(request))


def _say_sent(request: HttpRequest, user: User, sent: bool) -> None:
    if sent:
        messages.success(request, f"Invitation sent to {user.email}.")
    else:
        messages.error(
            request,
            f"The invitation to {user.email} could not be sent (the mail server did not take "
            "it); the account is kept: send it again from this list.",
        )


@require_POST
@admin_required
def teacher_reinvite(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    try:
        sent = teacher_services.invitation_send(
            user=person, by=request.user, base_url=request.build_absolute_uri("/")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        _say_sent(request, person, sent)
    return redirect("attendance:teacher_list")


@require_POST
@admin_required
def teacher_active(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    name = person.get_full_name() or person.username
    run_service(
        request,
        lambda: teacher_services.teacher_set_active(user=person, active=active, by=request.user),
        f"{name} {'can sign in again' if active else 'can no longer sign in'}.",
    )
    return redirect("attendance:teacher_list")


urlpatterns = [
    path("teachers/", teacher_list, name="teacher_list"),
    path("teachers/new/", teacher_create, name="teacher_create"),
    path("teachers/<int:pk>/active/", teacher_active, name="teacher_active"),
    path("teachers/<int:pk>/invite/", teacher_reinvite, name="teacher_reinvite"),
]
