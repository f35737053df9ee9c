"""Class session pages: create one or a weekly series, the roster with its marks, a mark set by
hand, and closing or reopening the session.

Views are thin: they check who is asking through selectors, call one service, and render.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from attendance.forms.sessions import (
    ClearForm,
    MarkForm,
    MarkUnmarkedForm,
    MarkUnmarkedUndoForm,
    RecurringSessionsForm,
    RemarkForm,
    SessionForm,
)
from attendance.models import AttendanceChange, AttendanceRecord, ClassSession, Student
from attendance.selectors.access import course_get, session_get, students_visible_to
from attendance.selectors.captures import session_captures
from attendance.selectors.sessions import session_pending_review, session_roster
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.views.errors import Undo, answer, form_refused, invalid_form, run_service


@require_POST
@login_required
def session_create(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    back = reverse("attendance:course_detail", args=[course.pk])
    form = SessionForm(request.POST)
    if not form.is_valid():
        return form_refused(request, form, title="The session was not created", back=back)
    run_service(
        request,
        lambda: course_services.session_create(course=course, **form.cleaned_data),
        "Session created.",
    )
    return redirect(back)


@require_POST
@login_required
def sessions_generate(request: HttpRequest, pk: int) -> HttpResponse:
    course = course_get(user=request.user, pk=pk)
    form = RecurringSessionsForm(request.POST)
    if not form.is_valid():
        back = reverse("attendance:course_detail", args=[course.pk])
        return form_refused(request, form, title="No sessions were created", back=back)
    data = {**form.cleaned_data, "weekdays": set(form.cleaned_data["weekdays"])}
    run_service(
        request,
        lambda: course_services.sessions_generate_weekly(course=course, **data),
        lambda created: f"{len(created)} weekly session(s) created.",
    )
    return redirect("attendance:course_detail", pk=course.pk)


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    roster = session_roster(session=session)
    context = {
        "session": session,
        "roster": roster,
        "unmarked": [line.student for line in roster if line.record is None],
        "pending": session_pending_review(session=session),
        "statuses": AttendanceRecord.Status.choices,
        "captures": session_captures(session=session),
        "changes": AttendanceChange.objects.filter(session=session)
        .select_related("student", "changed_by")
        .order_by("-changed_at")[:50],
    }
    return render(request, "attendance/session_detail.html", context)


@require_POST
@login_required
def session_mark(request: HttpRequest, pk: int) -> HttpResponse:
    return _student_form(
        request,
        pk,
        MarkForm,
        refused="Nothing was changed",
        act=lambda session, student, data: record_services.attendance_mark(
            session=session,
            student=student,
            status=data["status"],
            source=AttendanceRecord.Source.MANUAL,
            by=request.user,
            reason=data["reason"],
        ),
        done=lambda student, data: f"{student.full_name}: {data['status']}.",
        undo=_mark_undo,
    )


def _mark_undo(session, student) -> Undo:
    """Undo of a mark about to be set: back to the status before, or to no mark at all."""
    was = AttendanceRecord.objects.filter(session=session, student=student).first()
    fields = {"student": str(student.pk)}
    if was is None:
        return Undo(reverse("attendance:session_clear", args=[session.pk]), fields)
    return Undo(
        reverse("attendance:session_mark", args=[session.pk]), {**fields, "status": was.status}
    )


@require_POST
@login_required
def session_clear(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a student's mark away (back to "not marked"): the Undo of a first mark."""
    return _student_form(
        request,
        pk,
        ClearForm,
        refused="Nothing was changed",
        act=lambda session, student, data: record_services.attendance_clear(
            session=session,
            student=student,
            by=request.user,
            reason=data["reason"] or "Mark taken back (undo).",
        ),
        done=lambda student, data: f"{student.full_name}: not marked.",
    )


def _student_form(
    request: HttpRequest,
    pk: int,
    form_class: type[forms.Form],
    *,
    refused: str,
    act: Callable[[ClassSession, Student, dict], object],
    done: Callable[[Student, dict], str],
    undo: Callable[[ClassSession, Student], Undo] | None = None,
) -> HttpResponse:
    """What the forms about one student of a session share (a mark, its clearing, a remark):
    the session as the asker may see it, the form checked, the student looked up among those
    the asker may see, then one service call, answered as a page or as JSON (with the Undo,
    worked out before the call changes anything). Whether the student is on the roster is the
    service's rule, not checked here."""
    session = session_get(user=request.user, pk=pk)
    back = back_to(request, session)
    form = form_class(request.POST)
    if not form.is_valid():
        return invalid_form(request, form, title=refused, back=back)
    data = form.cleaned_data
    student = get_object_or_404(students_visible_to(request.user), pk=data["student"])
    return answer(
        request,
        lambda: act(session, student, data),
        done(student, data),
        back,
        undo=undo(session, student) if undo is not None else None,
    )


@require_POST
@login_required
def session_mark_unmarked(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    back = back_to(request, session)
    form = MarkUnmarkedForm(request.POST)
    if not form.is_valid():
        return invalid_form(request, form, title="Nothing was changed", back=back)
    status = form.cleaned_data["status"]
    return answer(
        request,
        lambda: record_services.attendance_mark_unmarked(
            session=session, status=status, by=request.user
        ),
        lambda students: f"{len(students)} student(s) not marked yet are now {status}.",
        back,
        undo=lambda students: _mark_unmarked_undo(session, students, status),
    )


def _mark_unmarked_undo(session, students: list[Student], status: str) -> Undo | None:
    """Undo of "mark all unmarked": exactly the students that call marked, nobody else."""
    if not students:
        return None
    ids = ",".join(str(pk) for pk in sorted(student.pk for student in students))
    url = reverse("attendance:session_mark_unmarked_undo", args=[session.pk])
    return Undo(url, {"students": ids, "status": status})


@require_POST
@login_required
def session_mark_unmarked_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back what "mark all unmarked" set: the Undo in its toast, or the one-time form."""
    session = session_get(user=request.user, pk=pk)
    back = back_to(request, session)
    form = MarkUnmarkedUndoForm(request.POST)
    if not form.is_valid():
        return invalid_form(request, form, title="Nothing was changed", back=back)
    data = form.cleaned_data
    return answer(
        request,
        lambda: record_services.attendance_mark_unmarked_undo(
            session=session, student_ids=data["students"], status=data["status"], by=request.user
        ),
        lambda students: f"{len(students)} mark(s) taken back: not marked again.",
        back,
    )


def back_to(request: HttpRequest, session) -> str:
    """The page a form came from (the session or one of its captures), else the session page."""
    fallback = reverse("attendance:session_detail", args=[session.pk])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@require_POST
@login_required
def session_finalize(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    force = request.POST.get("force") in {"1", "on", "true"}
    run_service(
        request,
        lambda: record_services.session_finalize(session=session, by=request.user, force=force),
        lambda absent: f"Session finalized; {absent} unmarked student(s) set absent.",
    )
    return redirect("attendance:session_detail", pk=session.pk)


@require_POST
@login_required
def session_remark(request: HttpRequest, pk: int) -> HttpResponse:
    """The remark on a record ("doctor's note"), from a plain form on the session page."""
    return _student_form(
        request,
        pk,
        RemarkForm,
        refused="The remark was not saved",
        act=lambda session, student, data: record_services.attendance_remark(
            session=session, student=student, remark=data["remark"], by=request.user
        ),
        done=lambda student, data: f"Remark saved for {student.full_name}.",
    )


@require_POST
@login_required
def session_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    session = session_get(user=request.user, pk=pk)
    record_services.session_reopen(session=session, by=request.user)
    messages.success(request, "Session reopened: marks can be changed again.")
    return redirect("attendance:session_detail", pk=session.pk)


urlpatterns = [
    path("courses/<int:pk>/sessions/new/", session_create, name="session_create"),
    path("courses/<int:pk>/sessions/generate/", sessions_generate, name="sessions_generate"),
    path("sessions/<int:pk>/", session_detail, name="session_detail"),
    path("sessions/<int:pk>/mark/", session_mark, name="session_mark"),
    path("sessions/<int:pk>/mark-unmarked/", session_mark_unmarked, name="session_mark_unmarked"),
    path(
        "sessions/<int:pk>/mark-unmarked/undo/",
        session_mark_unmarked_undo,
        name="session_mark_unmarked_undo",
    ),
    path("sessions/<int:pk>/clear/", session_clear, name="session_clear"),
    path("sessions/<int:pk>/remark/", session_remark, name="session_remark"),
    path("sessions/<int:pk>/finalize/", session_finalize, name="session_finalize"),
    path("sessions/<int:pk>/reopen/", session_reopen, name="session_reopen"),
]
