"""Admins' lists of people: teachers and admins, and students with their usable photos."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from attendance.models import Course, Enrollment, ReferencePhoto, Student


def staff_list() -> QuerySet[User]:
    """Everyone who may sign in to the app (teachers and admins), active first, by name, with
    the number of courses each teaches."""
    return User.objects.annotate(course_count=Count("courses_taught")).order_by(
        "-is_active", "first_name", "last_name", "username"
    )


def students_filtered(
    *,
    query: str = "",
    course: Course | None = None,
    needs_photos: bool = False,
    no_consent: bool = False,
) -> QuerySet[Student]:
    """Students matching a name, number or email, optionally only those enrolled now in
    ``course``, those with no usable reference photo, or those without photo consent. Each has
    ``usable_photos``: photos that are ready for matching (pending or rejected ones are not)."""
    # A deleted student is only a name on old records (services.students.student_delete).
    students = (
        Student.objects.filter(deleted_at__isnull=True)
        .annotate(
            usable_photos=Count("photos", filter=Q(photos__status=ReferencePhoto.Status.READY))
        )
        .order_by("full_name", "student_number")
    )
    if query:
        students = students.filter(
            Q(full_name__icontains=query)
            | Q(student_number__icontains=query)
            | Q(email__icontains=query)
        )
    if course is not None:
        enrolled = Enrollment.objects.filter(
            course=course, student=OuterRef("pk"), left_on__isnull=True
        )
        students = students.filter(Exists(enrolled))
    if needs_photos:
        students = students.filter(usable_photos=0)
    if no_consent:
        students = students.filter(consent_given_at__isnull=True)
    return students


def students_enrollable(*, course: Course) -> QuerySet[Student]:
    """Active students not enrolled in ``course`` now: what its enrol dialog offers."""
    enrolled = Enrollment.objects.filter(
        course=course, student=OuterRef("pk"), left_on__isnull=True
    )
    return (
        Student.objects.filter(active=True)
        .exclude(Exists(enrolled))
        .order_by("full_name", "student_number")
    )
