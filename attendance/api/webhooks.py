"""Admin-only API of webhook endpoints and their delivery log.

A teacher gets 403 on every operation (the endpoints see every course's events). The secret is
shown once, in the answer to the create call (and in the Django admin); lists never show it.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from attendance.api.serializers import ErrorSerializer
from attendance.api.views import Pagination
from attendance.models import WebhookDelivery, WebhookEndpoint
from attendance.selectors import access
from attendance.services import webhooks as webhook_services

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input (see error.fields)."),
    401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Only an admin can do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such endpoint."),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 403, 404)}


class IsAdmin(permissions.BasePermission):
    message = "Only an admin can do this."

    def has_permission(self, request: Request, view) -> bool:
        return access.is_admin(request.user)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]


class WebhookEndpointCreated(WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEndpoint.Event.choices),
        allow_empty=False,
        max_length=len(WebhookEndpoint.Event.values),
    )
    secret = serializers.CharField(
        max_length=128, required=False, allow_blank=True, help_text="Blank: one is generated."
    )
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http:// or https:// URL.")
        return value


class WebhookEndpointPatch(WebhookEndpointInput):
    active = serializers.BooleanField(
        required=False, help_text="true switches a disabled endpoint on and sends what waited."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "log",
            "created_at",
            "delivered_at",
        ]


@extend_schema(tags=["webhooks"])
@extend_schema(methods=["GET"], responses={200: WebhookEndpointSerializer, **READ_ERRORS})
class WebhookEndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints (admins only): RollCall POSTs signed events to them."""

    queryset = WebhookEndpoint.objects.order_by("pk")
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAdmin]
    pagination_class = Pagination
    parser_classes = [JSONParser]
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        request=WebhookEndpointInput,
        responses={201: WebhookEndpointCreated, 200: WebhookEndpointCreated, **ERRORS},
        description="Subscribe a URL. The same request again (URL, events, and the secret if "
        "one is sent) answers 200 with the endpoint made first: never a second subscription.",
    )
    def create(self, request: Request) -> Response:
        endpoint, created = webhook_services.webhook_endpoint_ensure(
            **self._input(WebhookEndpointInput), by=request.user
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(WebhookEndpointCreated(endpoint).data, status=code)

    @extend_schema(
        request=WebhookEndpointPatch, responses={200: WebhookEndpointSerializer, **ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = webhook_services.webhook_endpoint_update(
            endpoint=self.get_object(), **self._input(WebhookEndpointPatch)
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None, **READ_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        return super().destroy(request, pk)

    @extend_schema(
        responses={200: WebhookDeliverySerializer(many=True), **READ_ERRORS},
        description="The delivery log of this endpoint, newest first: every attempt with its "
        "status code.",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        page = self.paginate_queryset(endpoint.deliveries.order_by("-pk"))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
