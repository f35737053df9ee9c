"""The REST API under /api/: resources, reports, the OpenAPI schema and its docs.

Interactive docs: Swagger UI at /api/docs/, its assets served from drf-spectacular-sidecar (no CDN;
Redoc is left out because its page pulls fonts from Google). URL names are prefixed ``api-``
(``api-capture-detail``) so they never meet the pages' names.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from attendance.api import views

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
router.register("jobs", views.JobViewSet, basename="api-job")

urlpatterns = [
    path("", include(router.urls)),
    path("reports/courses/<int:pk>/", views.CourseReportView.as_view(), name="api-report-course"),
    path(
        "reports/sessions/<int:pk>/", views.SessionReportView.as_view(), name="api-report-session"
    ),
    path(
        "reports/students/<int:pk>/", views.StudentReportView.as_view(), name="api-report-student"
    ),
    path("imports/", views.ImportView.as_view(), name="api-import"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
