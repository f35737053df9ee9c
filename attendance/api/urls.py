"""The REST API under /api/: resources, reports, the OpenAPI schema and its docs.

Interactive docs: Swagger UI at /api/docs/, its assets served from drf-spectacular-sidecar (no CDN;
Redoc is left out because its page pulls fonts from Google). Both are for signed-in users only
unless ROLLCALL_API_DOCS_PUBLIC (see ``attendance.api.docs``). URL names are prefixed ``api-``
(``api-capture-detail``) so they never meet the pages' names.
"""

from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from attendance.api import docs, face_models, root, teachers, views, webhooks

router = DefaultRouter()
router.include_root_view = False
router.register("courses", views.CourseViewSet, basename="api-course")
router.register("students", views.StudentViewSet, basename="api-student")
router.register("enrollments", views.EnrollmentViewSet, basename="api-enrollment")
router.register("sessions", views.SessionViewSet, basename="api-session")
router.register("photos", views.ReferencePhotoViewSet, basename="api-photo")
router.register("captures", views.CaptureViewSet, basename="api-capture")
router.register("faces", views.FaceViewSet, basename="api-face")
router.register("records", views.RecordViewSet, basename="api-record")
router.register("webhooks", webhooks.WebhookEndpointViewSet, basename="api-webhook")
router.register("jobs", views.JobViewSet, basename="api-job")
router.register("face-models", face_models.FaceModelViewSet, basename="api-face-model")

urlpatterns = [
    path("", root.ApiRootView.as_view(), name="api-root"),
    path("", include(router.urls)),
    path("reports/courses/<int:pk>/", views.CourseReportView.as_view(), name="api-report-course"),
    path(
        "reports/sessions/<int:pk>/", views.SessionReportView.as_view(), name="api-report-session"
    ),
    path(
        "reports/students/<int:pk>/", views.StudentReportView.as_view(), name="api-report-student"
    ),
    path("teachers/", teachers.TeacherCreateView.as_view(), name="api-teachers"),
    path("imports/", views.ImportView.as_view(), name="api-import"),
    path("schema/", docs.SchemaView.as_view(), name="api-schema"),
    path("docs/", docs.DocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: whatever else is under /api/ is a JSON 404 (a missing slash named, never redirected).
    re_path(r"^(?P<path>.*)$", root.api_not_found),
]
