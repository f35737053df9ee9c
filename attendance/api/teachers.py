"""POST /api/teachers/ (admins only): create a teacher and their API token in one call."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.api.serializers import ErrorSerializer
from attendance.api.webhooks import IsAdmin
from attendance.services.teachers import teacher_create


class TeacherInput(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = serializers.EmailField(required=False, default="")
    full_name = serializers.CharField(max_length=150, required=False, default="")
    password = serializers.CharField(
        required=False, write_only=True, help_text="Optional: without it only the token works."
    )


class TeacherCreated(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    token = serializers.CharField(help_text="Shown once: `Authorization: Token <token>`.")


class TeacherCreateView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        tags=["teachers"],
        request=TeacherInput,
        responses={
            201: TeacherCreated,
            **{
                code: OpenApiResponse(ErrorSerializer, description=text)
                for code, text in [
                    (400, "Invalid input."),
                    (401, "No credentials."),
                    (403, "Only an admin can do this."),
                ]
            },
        },  # fmt: skip
        description="Create a teacher (a non-staff user) and their API token.",
    )
    def post(self, request: Request) -> Response:
        data = TeacherInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = teacher_create(**data.validated_data)
        body = {"id": user.pk, "username": user.username, "email": user.email, "token": token}
        return Response(body, status=status.HTTP_201_CREATED)
