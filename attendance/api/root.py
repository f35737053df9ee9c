"""The API's front door and its edges: ``GET /api/`` lists the resources, and any other URL under
/api/ that names nothing answers a JSON 404 (never Django's HTML page, never a redirect).

A path missing its trailing slash (``POST /api/captures``) is answered with a 404 naming the right
URL: Django's APPEND_SLASH would redirect, and a client following a redirect re-sends a POST as a
GET without its body. Refusing plainly is the one answer that loses nothing silently.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.api.errors import error_body

RESOURCES = [
    "courses",
    "students",
    "enrollments",
    "sessions",
    "photos",
    "captures",
    "faces",
    "records",
    "webhooks",
    "face-models",
]


class ApiRootView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["root"],
        responses={
            200: inline_serializer(
                "ApiRoot",
                {
                    "resources": serializers.DictField(child=serializers.URLField()),
                    "reports": serializers.DictField(child=serializers.CharField()),
                    "schema": serializers.URLField(),
                    "docs": serializers.URLField(),
                },
            )
        },
        description="What the API offers: each resource's URL, the reports, the schema and docs.",
    )
    def get(self, request: Request) -> Response:
        url = request.build_absolute_uri
        return Response(
            {
                "resources": {name: url(reverse(f"api-{name[:-1]}-list")) for name in RESOURCES},
                "reports": {
                    "course": url("/api/reports/courses/{id}/"),
                    "session": url("/api/reports/sessions/{id}/"),
                    "student": url("/api/reports/students/{id}/"),
                },
                "schema": url(reverse("api-schema")),
                "docs": url(reverse("api-docs")),
            }
        )


@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    message = "No such URL under /api/; GET /api/ lists the resources."
    if not request.path.endswith("/"):
        try:
            resolve(request.path + "/")
        except Resolver404:
            pass
        else:
            message = f"No such URL; did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse(error_body("not_found", message), status=404)
