"""The REST API's views: thin. Every queryset starts from ``attendance.selectors.access`` (so
anything outside the caller's reach is a 404), every write calls a service, every figure of a report
comes from ``attendance.selectors.reports``.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.api import filters
from attendance.api import serializers as s
from attendance.api.reports import course_report_json, session_report_data, student_report_data
from attendance.models import AttendanceRecord, Capture
from attendance.selectors import access
from attendance.selectors.reports import cached_course_report
from attendance.services import courses as course_services
from attendance.services import records as record_services
from attendance.services import students as student_services

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input (see error.fields)."),
    401: OpenApiResponse(s.ErrorSerializer, description="No or bad credentials."),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed for this user."),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found, or not yours to see."),
    409: OpenApiResponse(
        s.ErrorSerializer, description="Not now (e.g. session_finalized, no_consent)."
    ),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 404)}
ACTION_ERRORS = {code: ERRORS[code] for code in (401, 404, 409)}
LIST_ERRORS = {code: ERRORS[code] for code in (400, 401, 404)}


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (1..500; a size outside is a 400, not silently clamped)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)


READ_ACTIONS = {"list", "retrieve", "consent"}


class AdminCreates(permissions.BasePermission):
    """Signed in to read; only admins (staff) create, change and delete, as on the pages."""

    message = "Only an admin can do this."

    def has_permission(self, request: Request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        if view.action is None:
            return True  # a method the resource does not have: the 405 says so
        if view.action in READ_ACTIONS and request.method in permissions.SAFE_METHODS:
            return True
        return access.is_admin(request.user)


def _created(serializer_class, instance, request: Request, code=status.HTTP_201_CREATED):
    return Response(serializer_class(instance, context={"request": request}).data, status=code)


def _accepted(serializer_class, instance, request: Request, url_name: str) -> Response:
    """202: the upload is stored and queued; poll ``Location`` until its state is final."""
    response = _created(serializer_class, instance, request, status.HTTP_202_ACCEPTED)
    response["Location"] = request.build_absolute_uri(reverse(url_name, args=[instance.pk]))
    return response


def _input(serializer_class, request: Request, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _bulk(child, list_class, request: Request) -> list[dict]:
    serializer = s.bulk_input(child(context={"request": request}), list_class)
    serializer.initial_data = request.data
    serializer._context = {"request": request}
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _bulk_response(results: list) -> Response:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for _, outcome in results:
        counts[outcome] += 1
    rows = [
        {"index": i, "id": obj.pk, "outcome": outcome} for i, (obj, outcome) in enumerate(results)
    ]
    return Response({"counts": counts, "results": rows})


CONFLICT = {409: ERRORS[409]}
WRITE_ERRORS = {code: ERRORS[code] for code in (400, 401, 403, 404, 409)}


class ImageOrErrorRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: image/*``: the file itself bypasses rendering, and an
    error (404) is still the JSON error shape."""

    media_type = "image/*"
    format = "image"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data).encode()


FILE_RESPONSES = {
    (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The image file."),
    **READ_ERRORS,
}


class FileActions:
    """For views with file actions: an error asked for as ``image/*`` is still sent as JSON."""

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(getattr(request, "accepted_renderer", None), ImageOrErrorRenderer):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def _file(field) -> FileResponse:
    """A private file to a caller who may see its row (token auth works here, unlike /files/)."""
    if not field:
        raise Http404("No file.")
    try:
        handle = field.storage.open(field.name, "rb")
    except FileNotFoundError:
        raise Http404("The file is gone.") from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


class ScopedViewSet(viewsets.GenericViewSet):
    """``scope(user)`` names the visibility queryset from attendance.selectors.access."""

    lookup_value_regex = "[0-9]+"
    pagination_class = Pagination
    scope = None

    def get_queryset(self):
        return type(self).scope(self.request.user)


@extend_schema(tags=["courses"])
@extend_schema(methods=["GET"], responses={200: s.CourseSerializer, **READ_ERRORS})
class CourseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Courses: a teacher sees those they teach; an admin sees and creates all."""

    scope = staticmethod(access.courses_visible_to)
    serializer_class = s.CourseSerializer
    filterset_class = filters.CourseFilter
    permission_classes = [AdminCreates]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("teachers").order_by("term", "code", "pk")

    @extend_schema(
        request=s.CourseInput,
        responses={201: s.CourseSerializer, 200: s.CourseSerializer, **ERRORS},
        description="Create a course. The same course again (code, term, title) answers 200 "
        "with it (no second row).",
    )
    def create(self, request: Request) -> Response:
        course, created = course_services.course_ensure(**_input(s.CourseInput, request))
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _created(s.CourseSerializer, course, request, code)

    @extend_schema(
        request=s.CourseInput,
        responses={200: s.CourseSerializer, **WRITE_ERRORS},
        description="Change some of a course's fields (the others stay). Audited.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        course = self.get_object()
        data = _input(s.CourseInput, request, partial=True)
        changes = {**course_services.course_editable_fields(course), **data}
        course = course_services.course_update(course=course, by=request.user, **changes)
        return Response(s.CourseSerializer(course).data)

    @extend_schema(
        responses={204: None, **WRITE_ERRORS},
        description="Delete a course with no attendance records (its sessions and enrollments "
        "go with it). A course with records answers 409 `has_attendance_records`: records are "
        "never deleted as a side effect.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        course = self.get_object()
        course_services.course_delete(course=course, by=request.user, refuse_with_records=True)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["students"])
@extend_schema(methods=["GET"], responses={200: s.StudentSerializer, **READ_ERRORS})
class StudentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Students: a teacher sees the students of their courses; an admin sees and creates all."""

    scope = staticmethod(access.students_visible_to)
    serializer_class = s.StudentSerializer
    filterset_class = filters.StudentFilter
    permission_classes = [AdminCreates]

    def get_queryset(self):
        students = super().get_queryset().order_by("full_name", "student_number", "pk")
        if self.action == "list":  # a deleted student is still found by id (their records)
            students = students.filter(deleted_at__isnull=True)
        return students

    @extend_schema(
        request=s.StudentInput,
        responses={201: s.StudentSerializer, 200: s.StudentSerializer, **ERRORS},
        description="Create a student. The same request again answers 200 with that student "
        "(no second row); a number that belongs to someone else is 409 `student_number_taken`.",
    )
    def create(self, request: Request) -> Response:
        data = _input(s.StudentInput, request)
        student, created = student_services.student_ensure(
            student_number=data["student_number"],
            full_name=data["full_name"],
            email=data["email"],
            consent_by=request.user if data["consent"] else None,
            consent_method=data.get("consent_method", ""),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _created(s.StudentSerializer, student, request, code)

    @extend_schema(
        request=s.StudentUpdate,
        responses={200: s.StudentSerializer, **WRITE_ERRORS},
        description="Change a student's name or email, or archive them (`active` false: their "
        "records stay). Audited. Photo consent has its own call: /api/students/{id}/consent/.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        student = self.get_object()
        data = _input(s.StudentUpdate, request)
        student = student_services.student_update(student=student, by=request.user, **data)
        return Response(s.StudentSerializer(student).data)

    @extend_schema(
        responses={204: None, **WRITE_ERRORS},
        description="Delete a student as the pages do: their biometrics and contact details go "
        "at once; their attendance records stay (never cascaded), kept under their name and "
        "number with every enrollment ended today. A student never marked leaves no row. To "
        "keep the student as they are, archive them instead (PATCH `active` false).",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        student_services.student_delete(student=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.StudentBulkItem(many=True),
        responses={200: s.BulkResponseSerializer, **ERRORS},
        description="Create or update many students by `student_number`. " + s.BULK_HELP,
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def bulk(self, request: Request) -> Response:
        items = _bulk(s.StudentBulkItem, s.StudentBulkList, request)
        return _bulk_response(student_services.students_upsert(items=items, by=request.user))

    @extend_schema(
        methods=["GET"],
        responses={200: s.ConsentSerializer, **READ_ERRORS},
        description="The student's photo consent: whether it is given, by whom it was "
        "recorded, when and how, and its history (records and withdrawals).",
    )
    @extend_schema(
        methods=["POST"],
        request=s.ConsentInput,
        responses={200: s.ConsentSerializer, **WRITE_ERRORS},
        description="Record photo consent, seen by the caller, given by `method`. Consent "
        "recorded already stays as it was (the same call twice is one record).",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[s.ConsentWithdrawQuery],
        responses={200: s.ConsentSerializer, **WRITE_ERRORS},
        description="Withdraw photo consent: every reference photo, face crop and embedding of "
        "the student is erased (attendance records stay), as on the student's page, and a "
        "`student.erased` webhook is sent. Withdrawing again changes nothing.",
    )
    @action(detail=True, methods=["get", "post", "delete"], parser_classes=[JSONParser])
    def consent(self, request: Request, pk: str) -> Response:
        student = self.get_object()
        if request.method == "POST":
            method = _input(s.ConsentInput, request)["method"]
            student = student_services.consent_record(
                student=student, by=request.user, method=method
            )
        elif request.method == "DELETE":
            method = _query(s.ConsentWithdrawQuery, request).get("method", "")
            student = student_services.consent_withdraw(
                student=student, by=request.user, method=method
            )
        return Response(consent_data(student))


@extend_schema(tags=["enrollments"])
@extend_schema(methods=["GET"], responses={200: s.EnrollmentSerializer, **READ_ERRORS})
class EnrollmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    scope = staticmethod(access.enrollments_visible_to)
    serializer_class = s.EnrollmentSerializer
    filterset_class = filters.EnrollmentFilter
    permission_classes = [AdminCreates]

    def get_queryset(self):
        return super().get_queryset().order_by("course_id", "student__full_name", "pk")

    @extend_schema(
        request=s.EnrollmentInput,
        responses={201: s.EnrollmentSerializer, 200: s.EnrollmentSerializer, **ERRORS},
        description="Enroll a student. Enrolling a student who is enrolled already answers 200 "
        "with that enrollment (no second row).",
    )
    def create(self, request: Request) -> Response:
        enrollment = course_services.enrollment_create(**_input(s.EnrollmentInput, request))
        code = status.HTTP_200_OK if enrollment.existed else status.HTTP_201_CREATED
        return _created(s.EnrollmentSerializer, enrollment, request, code)

    @extend_schema(
        request=s.EnrollmentUpdate,
        responses={200: s.EnrollmentSerializer, **WRITE_ERRORS},
        description="End the enrollment: the student belonged to the course up to `left_on` "
        "(their marks before stay, later sessions leave them out). Audited.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        enrollment = self.get_object()
        left_on = _input(s.EnrollmentUpdate, request)["left_on"]
        enrollment = course_services.enrollment_end(
            enrollment=enrollment, left_on=left_on, by=request.user
        )
        return Response(s.EnrollmentSerializer(enrollment).data)

    @extend_schema(
        responses={204: None, **WRITE_ERRORS},
        description="Delete an enrollment made by mistake. One with attendance records answers "
        "409 `has_attendance_records`: end it with PATCH `left_on` instead.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        course_services.enrollment_delete(
            enrollment=self.get_object(), by=request.user, refuse_with_records=True
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.EnrollmentBulkItem(many=True),
        responses={200: s.BulkResponseSerializer, **ERRORS},
        description="Enroll many students (and end enrollments, with `left_on`). " + s.BULK_HELP,
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def bulk(self, request: Request) -> Response:
        items = _bulk(s.EnrollmentBulkItem, s.EnrollmentBulkList, request)
        return _bulk_response(course_services.enrollments_upsert(items=items, by=request.user))


@extend_schema(tags=["sessions"])
@extend_schema(methods=["GET"], responses={200: s.SessionSerializer, **READ_ERRORS})
class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Class sessions: teachers create them for their own courses."""

    scope = staticmethod(access.sessions_visible_to)
    serializer_class = s.SessionSerializer
    filterset_class = filters.SessionFilter

    def get_queryset(self):
        return super().get_queryset().order_by("date", "start_time", "pk")

    @extend_schema(
        request=s.SessionInput,
        responses={201: s.SessionSerializer, 200: s.SessionSerializer, **ERRORS},
        description="Create a session. The same session again answers 200 with it; another "
        "session at the same start is 400 `session_exists`.",
    )
    def create(self, request: Request) -> Response:
        session, created = course_services.session_ensure(**_input(s.SessionInput, request))
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _created(s.SessionSerializer, session, request, code)

    @extend_schema(
        request=s.FinalizeInput,
        responses={200: s.SessionSerializer, **ACTION_ERRORS},
        description="Close the session: every enrolled student still unmarked becomes absent. "
        "409 `pending_review` while faces await review or captures are being processed (the "
        "message names them; see `pending` on the session), unless `force` is true.",
    )
    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        force = _input(s.FinalizeInput, request)["force"]
        record_services.session_finalize(session=session, by=request.user, force=force)
        session.refresh_from_db()
        return Response(s.SessionSerializer(session).data)

    @extend_schema(
        responses={200: s.PendingReviewSerializer, **READ_ERRORS},
        description="What stands between the session and finalizing: faces awaiting review and "
        "captures still queued or being processed, with their ids.",
    )
    @action(detail=True, methods=["get"])
    def pending(self, request: Request, pk: str) -> Response:
        from attendance.selectors.sessions import session_pending_review

        return Response(session_pending_review(session=self.get_object()).as_dict())


@extend_schema(tags=["photos"])
@extend_schema(methods=["GET"], responses={200: s.ReferencePhotoSerializer, **READ_ERRORS})
class ReferencePhotoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Reference photos of students (metadata only; the image itself is never served here)."""

    scope = staticmethod(access.photos_visible_to)
    serializer_class = s.ReferencePhotoSerializer
    filterset_class = filters.PhotoFilter
    permission_classes = [AdminCreates]
    parser_classes = [MultiPartParser, FormParser]
    upload_throttled = True  # attendance.api.throttles.UploadThrottle

    def get_queryset(self):
        return super().get_queryset().order_by("student_id", "-created_at", "pk")

    @extend_schema(
        request={"multipart/form-data": s.PhotoInput},
        responses={202: s.AcceptedPhotoSerializer, 200: s.AcceptedPhotoSerializer, **ERRORS},
        description="Upload a reference photo; it is processed in the background (poll its URL "
        "until status is ready or rejected). The same file again for the same student answers "
        "200 with the photo stored first (`duplicate_of`). A student without recorded consent "
        "is 409 `no_consent`: record it with POST /api/students/{id}/consent/.",
    )
    def create(self, request: Request) -> Response:
        from attendance.services import photos as photo_services

        data = _input(s.PhotoInput, request)
        photo = photo_services.reference_photo_add(
            student=data["student"], image_file=data["image"], by=request.user
        )
        if photo.duplicate:
            return _created(s.AcceptedPhotoSerializer, photo, request, status.HTTP_200_OK)
        return _accepted(s.AcceptedPhotoSerializer, photo, request, "api-photo-detail")


@extend_schema(tags=["captures"])
@extend_schema(methods=["GET"], responses={200: s.CaptureSerializer, **READ_ERRORS})
class CaptureViewSet(FileActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Class photos: upload one for a session, then poll it until ``state`` is done or failed."""

    scope = staticmethod(access.captures_visible_to)
    serializer_class = s.CaptureSerializer
    filterset_class = filters.CaptureFilter
    parser_classes = [MultiPartParser, FormParser]
    upload_throttled = True  # attendance.api.throttles.UploadThrottle

    def get_queryset(self):
        return (
            super().get_queryset().prefetch_related("faces__records").order_by("created_at", "pk")
        )

    @extend_schema(
        request={"multipart/form-data": s.CaptureInput},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Any unique string per upload (a UUID). Sending the same key again "
                "(a retry after a timeout) returns the capture saved the first time, never a "
                "second one.",
            )
        ],
        responses={202: s.AcceptedCaptureSerializer, 200: s.AcceptedCaptureSerializer, **ERRORS},
        description="Upload a class photo. Answers 202 with the capture (and its URL in Location "
        "and `url`); faces and marks appear once `state` is done. When the processing queue is "
        "down the photo is still saved (`queued` false) and processed once the queue is back. "
        "The same photo (same bytes) uploaded to the same session again answers 200 with the "
        "capture it made first (`duplicate_of`): never a second set of faces.",
    )
    def create(self, request: Request) -> Response:
        from attendance.services import captures as capture_services

        data = _input(s.CaptureInput, request)
        capture = capture_services.capture_create(
            session=data["session"],
            image_file=data["image"],
            source=Capture.Source.API,
            by=request.user,
            idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
        )
        if capture.duplicate:
            return _created(s.AcceptedCaptureSerializer, capture, request, status.HTTP_200_OK)
        return _accepted(s.AcceptedCaptureSerializer, capture, request, "api-capture-detail")

    @extend_schema(responses=FILE_RESPONSES, description="The class photo itself.")
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, ImageOrErrorRenderer])
    def photo(self, request: Request, pk: str) -> FileResponse:
        return _file(self.get_object().image)


@extend_schema(tags=["jobs"])
@extend_schema(methods=["GET"], responses={200: s.JobSerializer, **READ_ERRORS})
class JobViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    """Background jobs (a roster import): poll one until ``state`` is done or failed; its
    ``report`` lists every line and photo with its outcome."""

    scope = staticmethod(access.jobs_visible_to)
    serializer_class = s.JobSerializer


class ImportView(APIView):
    """Admins: import a roster CSV and/or a photos ZIP in the background."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=["jobs"],
        request={"multipart/form-data": s.ImportInput},
        responses={202: s.JobSerializer, **ERRORS},
        description="Checks that the files can be read (a roster that is not CSV, a ZIP with a "
        "path leaving its folder: 400, nothing stored), then answers 202 with the job; poll "
        "`Location` until `state` is done. Each line and photo is imported on its own and "
        "reported.",
    )
    def post(self, request: Request) -> Response:
        from attendance.services import jobs as job_services

        if not access.is_admin(request.user):
            raise PermissionDenied("Only an admin can do this.")
        data = _input(s.ImportInput, request)
        job = job_services.roster_import_start(
            roster_file=data.get("roster"), photos_zip=data.get("photos"), by=request.user
        )
        return _accepted(s.JobSerializer, job, request, "api-job-detail")


@extend_schema(tags=["faces"])
@extend_schema(methods=["GET"], responses={200: s.FaceSerializer, **READ_ERRORS})
class FaceViewSet(FileActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Faces found in class photos, and the teacher's review of them: confirm a suggested match
    or assign the face to a student (or to nobody). Marks change as on the capture page, with
    the same audit trail; a finalized session answers 409."""

    scope = staticmethod(access.faces_visible_to)
    serializer_class = s.FaceSerializer
    filterset_class = filters.FaceFilter
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        return super().get_queryset().order_by("capture_id", "index")

    @extend_schema(responses=FILE_RESPONSES, description="The face cut out of the class photo.")
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, ImageOrErrorRenderer])
    def crop(self, request: Request, pk: str) -> FileResponse:
        return _file(self.get_object().crop)

    @extend_schema(
        request=s.FaceAssignInput,
        responses={200: s.FaceSerializer, **ERRORS},
        description="Say who this face is. The student is marked present by hand (a mark set by "
        "hand earlier stays); the student the face showed before loses the mark it gave them.",
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        from attendance.services import captures as capture_services

        face = self.get_object()
        student = _input(s.FaceAssignInput, request)["student"]
        face = capture_services.face_assign(face=face, student=student, by=request.user)
        return Response(s.FaceSerializer(face).data)

    @extend_schema(
        request=None,
        responses={200: s.FaceSerializer, **ERRORS},
        description="Accept the suggested student of a face (a match that needs review).",
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        from attendance.services import captures as capture_services

        face = capture_services.face_confirm(face=self.get_object(), by=request.user)
        return Response(s.FaceSerializer(face).data)

    @extend_schema(
        request=None,
        responses={200: s.FaceSerializer, **ERRORS},
        description="Take back the last confirm or assign of this face: the faces and marks it "
        "changed go back as they were (audited). 400 `nothing_to_undo` when there is none left, "
        "409 `changed_since` when a later decision changed them again.",
    )
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str) -> Response:
        from attendance.services import captures as capture_services

        face = capture_services.face_review_undo(face=self.get_object(), by=request.user)
        return Response(s.FaceSerializer(face).data)


@extend_schema(tags=["records"])
@extend_schema(methods=["GET"], responses={200: s.RecordSerializer, **READ_ERRORS})
class RecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Attendance records. Set or correct a mark with POST (by session and student) or PATCH
    (by record); a reason is required and kept in the audit trail."""

    scope = staticmethod(access.records_visible_to)
    serializer_class = s.RecordSerializer
    filterset_class = filters.RecordFilter
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().select_related("marked_by").order_by("session_id", "pk")

    @transaction.atomic
    def _mark(self, request: Request, session, student, data) -> Response:
        # Status and remark in one transaction: a refused remark leaves the status unchanged.
        if "status" in data:
            record_services.attendance_mark(
                session=session,
                student=student,
                status=data["status"],
                source=AttendanceRecord.Source.API,
                by=request.user,
                reason=data["reason"],
            )
        if "remark" in data:
            record_services.attendance_remark(
                session=session, student=student, remark=data["remark"], by=request.user
            )
        record = AttendanceRecord.objects.select_related("marked_by", "session").get(
            session=session, student=student
        )
        return Response(s.RecordSerializer(record).data)

    @extend_schema(request=s.RecordInput, responses={200: s.RecordSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        data = _input(s.RecordInput, request)
        return self._mark(request, data["session"], data["student"], data)

    @extend_schema(request=s.RecordCorrection, responses={200: s.RecordSerializer, **ERRORS})
    def partial_update(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        data = _input(s.RecordCorrection, request)
        return self._mark(request, record.session, record.student, data)

    @extend_schema(
        request=s.RecordClearInput,
        responses={204: None, **ERRORS},
        description='Take the mark away: the student is "not marked" again (the undo of a '
        "first mark). The audit trail keeps the mark and the reason.",
    )
    @action(detail=True, methods=["post"])
    def clear(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        data = _input(s.RecordClearInput, request)
        record_services.attendance_clear(
            session=record.session,
            student=record.student,
            by=request.user,
            reason=data["reason"],
        )
        return Response(status=204)


def consent_data(student) -> dict:
    """The consent resource: its state now and its history from the audit trail."""
    from attendance.models import AuditEvent

    events = AuditEvent.objects.filter(
        student=student,
        action__in=[AuditEvent.Action.CONSENT_RECORDED, AuditEvent.Action.BIOMETRICS_ERASED],
    ).select_related("by")
    history = []
    for event in events.order_by("at", "pk"):
        line = {
            "action": event.action,
            "at": event.at,
            "by": event.by.username if event.by else None,
            "method": event.detail.get("method", ""),
        }
        for count in ("reference_photos", "faces"):
            if count in event.detail:
                line[count] = event.detail[count]
        history.append(line)
    return s.ConsentSerializer(
        {
            "student": student.pk,
            "given": student.has_photo_consent,
            "given_at": student.consent_given_at,
            "given_by": student.consent_given_by.username if student.consent_given_by else None,
            "method": student.consent_method,
            "history": history,
        }
    ).data


# Reports ---------------------------------------------------------------------------------------

DATE_RANGE = [
    OpenApiParameter("date_from", str, description="YYYY-MM-DD: sessions on or after."),
    OpenApiParameter("date_to", str, description="YYYY-MM-DD: sessions on or before."),
]


def _date_range(request: Request) -> dict:
    serializer = s.DateRangeInput(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return {
        "date_from": serializer.validated_data.get("date_from"),
        "date_to": serializer.validated_data.get("date_to"),
    }


class CourseReportView(APIView):
    @extend_schema(
        tags=["reports"],
        parameters=DATE_RANGE,
        responses={200: s.CourseReportSerializer, **LIST_ERRORS},
        description="The course matrix: each student's statuses per session, their rate and "
        "flag, each session's rate; the same figures as the report page and CSV.",
    )
    def get(self, request: Request, pk: int) -> Response:
        course = access.course_get(user=request.user, pk=pk)
        payload = cached_course_report(
            course=course, kind="api-json", build=course_report_json, **_date_range(request)
        )
        if isinstance(request.accepted_renderer, JSONRenderer):
            # Cached already rendered: a big course's JSON is cheaper to keep than to re-encode.
            return HttpResponse(payload, content_type="application/json")
        return Response(json.loads(payload))  # the browsable API


class SessionReportView(APIView):
    @extend_schema(
        tags=["reports"],
        responses={200: s.SessionReportSerializer, **READ_ERRORS},
        description="The session sheet: every enrolled student with status, source, "
        "confidence, who marked and when.",
    )
    def get(self, request: Request, pk: int) -> Response:
        session = access.session_get(user=request.user, pk=pk)
        return Response(session_report_data(session=session))


class StudentReportView(APIView):
    @extend_schema(
        tags=["reports"],
        parameters=DATE_RANGE,
        responses={200: s.StudentReportSerializer, **LIST_ERRORS},
        description="A student's attendance in each of their courses that the caller may see.",
    )
    def get(self, request: Request, pk: int) -> Response:
        student = access.student_get(user=request.user, pk=pk)
        data = student_report_data(user=request.user, student=student, **_date_range(request))
        return Response(data)
