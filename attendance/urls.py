"""Pages of the app. Each views module owns its ``urlpatterns``; this file only joins them."""

from attendance.views import (
    captures,
    courses,
    enrollments,
    face_models,
    files,
    jobs,
    privacy,
    reports,
    sessions,
    students,
    teachers,
    terms,
    tokens,
)

app_name = "attendance"
urlpatterns = (
    courses.urlpatterns
    + sessions.urlpatterns
    + enrollments.urlpatterns
    + students.urlpatterns
    + files.urlpatterns
    + captures.urlpatterns
    + jobs.urlpatterns
    + reports.urlpatterns
    + terms.urlpatterns
    + teachers.urlpatterns
    + tokens.urlpatterns
    + face_models.urlpatterns
    + privacy.urlpatterns
)
