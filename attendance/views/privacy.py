"""Privacy pages: an admin downloads everything held about one student (a data access request)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from attendance.models import Student
from attendance.services import students as student_services
from attendance.views.guards import admin_required


@admin_required
def student_export(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    data = student_services.student_export(student=student, by=request.user)
    response = HttpResponse(data, content_type="application/zip")
    # The student number only: names may hold characters a header cannot.
    filename = f"student-{student.pk}-data.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("students/<int:pk>/export/", student_export, name="student_export"),
]
