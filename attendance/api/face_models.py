"""Face model versions over the API (admins): list them with their evaluation, train, evaluate,
promote and roll back. Training and switching answer 202 with the job to poll
(``GET /api/jobs/<id>/``), as imports do."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from attendance.api import serializers as s
from attendance.api.views import ACTION_ERRORS, ERRORS, READ_ERRORS, ScopedViewSet, _accepted
from attendance.models import FaceModel
from attendance.selectors import access
from attendance.services import face_models as services


class IsAdmin(permissions.BasePermission):
    message = "Only an admin can do this."

    def has_permission(self, request: Request, view) -> bool:
        return access.is_admin(request.user)


class FaceModelSerializer(serializers.ModelSerializer):
    promotion_refused = serializers.SerializerMethodField(
        help_text="Why it cannot be promoted now; empty when it can (or it serves)."
    )
    heldout_students = serializers.SerializerMethodField()

    class Meta:
        model = FaceModel
        fields = [
            "id",
            "version",
            "source",
            "state",
            "serving",
            "serving_since",
            "created_at",
            "trained_at",
            "base_version",
            "students",
            "photos",
            "class_faces",
            "include_class_faces",
            "heldout_students",
            "threshold",
            "review_threshold",
            "match_margin",
            "evaluation",
            "evaluated_at",
            "needs_retraining",
            "retraining_reason",
            "failure_reason",
            "promotion_refused",
        ]

    def get_promotion_refused(self, model: FaceModel) -> str:
        return services.promotion_refusal(model) if model.is_trained else ""

    def get_heldout_students(self, model: FaceModel) -> int:
        return model.heldout_students.count()


class TrainInput(serializers.Serializer):
    include_class_faces = serializers.BooleanField(
        default=False, help_text="Also train on faces teachers confirmed in class photos."
    )
    epochs = serializers.IntegerField(
        required=False, min_value=1, max_value=50, help_text="Default: the installation's."
    )


@extend_schema(tags=["face models"])
@extend_schema(methods=["GET"], responses={200: FaceModelSerializer, **READ_ERRORS})
class FaceModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Face model versions (admins): the shipped one and those trained here, which one serves,
    and each trained one's evaluation on held-out students beside the serving model's."""

    scope = staticmethod(access.face_models_visible_to)
    serializer_class = FaceModelSerializer
    permission_classes = [IsAdmin]

    def list(self, request: Request, *args, **kwargs) -> Response:
        services.serving_model()  # the shipped model is registered at first use
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TrainInput, responses={202: s.JobSerializer, **ERRORS})
    @action(detail=False, methods=["post"])
    def train(self, request: Request) -> Response:
        """Start training a model on the consented students' photos; poll the job."""
        data = TrainInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.face_model_train_start(
            by=request.user,
            include_class_faces=data.validated_data["include_class_faces"],
            epochs=data.validated_data.get("epochs"),
        )
        return _accepted(s.JobSerializer, job, request, "api-job-detail")

    @extend_schema(request=None, responses={200: FaceModelSerializer, **ACTION_ERRORS})
    @action(detail=True, methods=["post"])
    def evaluate(self, request: Request, pk: int) -> Response:
        """Evaluate this model and the serving one on this model's held-out students."""
        model = services.face_model_evaluate(model=self.get_object())
        return Response(FaceModelSerializer(model, context={"request": request}).data)

    @extend_schema(request=None, responses={202: s.JobSerializer, **ACTION_ERRORS})
    @action(detail=True, methods=["post"])
    def promote(self, request: Request, pk: int) -> Response:
        """Re-embed every reference photo with this model, then let it serve (409 with the
        reason when it is not better than the serving model)."""
        job = services.face_model_promote_start(model=self.get_object(), by=request.user)
        return _accepted(s.JobSerializer, job, request, "api-job-detail")

    @extend_schema(request=None, responses={202: s.JobSerializer, **ACTION_ERRORS})
    @action(detail=False, methods=["post"])
    def rollback(self, request: Request) -> Response:
        """Go back to the model that served before, the same way."""
        job = services.face_model_rollback_start(by=request.user)
        return _accepted(s.JobSerializer, job, request, "api-job-detail")
