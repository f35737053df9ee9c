"""Serializers: the API's shapes. Read serializers describe rows; input serializers only validate
shape and reach (an id outside the caller's reach is "does not exist"); services make the changes.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attendance.models import (
    REMARK_MAX_LENGTH,
    AttendanceRecord,
    Capture,
    ClassSession,
    ConsentMethod,
    Course,
    DetectedFace,
    Enrollment,
    Job,
    ReferencePhoto,
    Student,
)
from attendance.selectors.access import (
    courses_visible_to,
    sessions_visible_to,
    students_visible_to,
)
from attendance.selectors.captures import faces_suggestable, too_small_message
from attendance.validators import has_control_characters, no_control_characters

TOO_SMALL = DetectedFace.Decision.TOO_SMALL


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id looked up only among the rows the caller may see (``scope(user) -> QuerySet``)."""

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)

    def to_internal_value(self, data):
        # Ids beyond the database's integer range can never exist; say so instead of overflowing.
        if isinstance(data, int | str) and str(data).isdigit() and int(data) > 2**63 - 1:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class UsernameField(serializers.SlugRelatedField):
    """A user named by username. A name with a control character names nobody (usernames never
    hold one) and is refused before the lookup: PostgreSQL rejects a NUL byte in a query (a 500)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="username", **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and has_control_characters(data):
            self.fail("invalid")
        return super().to_internal_value(data)


# Reads -----------------------------------------------------------------------------------------


class CourseSerializer(serializers.ModelSerializer):
    teachers = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")

    class Meta:
        model = Course
        fields = [
            "id",
            "code",
            "title",
            "term",
            "teachers",
            "attendance_threshold",
            "late_credit",
            "excused_policy",
        ]


class StudentSerializer(serializers.ModelSerializer):
    has_photo_consent = serializers.BooleanField(read_only=True)

    class Meta:
        model = Student
        fields = [
            "id",
            "student_number",
            "full_name",
            "email",
            "active",
            "has_photo_consent",
            "deleted_at",
        ]
        # Set when the student was deleted: only the name and number stay, for their records.
        read_only_fields = ["deleted_at"]


class EnrollmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enrollment
        fields = ["id", "student", "course", "joined_on", "left_on"]


class SessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassSession
        fields = ["id", "course", "date", "start_time", "end_time", "room", "state", "finalized_at"]


class ReferencePhotoSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferencePhoto
        fields = [
            "id",
            "student",
            "status",
            "rejection_code",
            "rejection_reason",
            "face_box",
            "model_version",
            "processed_at",
            "created_at",
        ]


class CandidateSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    distance = serializers.FloatField(help_text="Euclidean distance of the embeddings.")
    score = serializers.FloatField(
        help_text="0..1: 1 at distance 0, 0.5 at the accept threshold, 0 at twice that."
    )


class FaceSerializer(serializers.ModelSerializer):
    candidates = serializers.SerializerMethodField(
        help_text="The closest enrolled students, best first (unknown faces too)."
    )

    class Meta:
        model = DetectedFace
        fields = [
            "id",
            "capture",
            "index",
            "box",
            "detector_score",
            "student",
            "distance",
            "decision",
            "candidates",
        ]

    @extend_schema_field(CandidateSerializer(many=True))
    def get_candidates(self, face: DetectedFace) -> list[dict]:
        from attendance.services.captures import match_confidence

        suggestable = self._suggestable()
        return [
            {
                "student": c["student_id"],
                "distance": c["distance"],
                "score": round(match_confidence(c["distance"]) or 0.0, 4),
            }
            for c in face.candidates or []
            if c["student_id"] in suggestable
        ]

    def _suggestable(self) -> set[int]:
        # Worked out once for everything the response shows (a face, a page of faces, or the
        # faces of a page of captures): the context is shared by the whole serializer tree.
        if "suggestable" not in self.context:
            self.context["suggestable"] = faces_suggestable(faces=_faces_in(self.root.instance))
        return self.context["suggestable"]


def _faces_in(shown: object) -> list[DetectedFace]:
    """The faces a response shows: ``shown`` is a face, a capture, or a list of either."""
    if isinstance(shown, DetectedFace):
        return [shown]
    if isinstance(shown, Capture):
        return list(shown.faces.all())
    if isinstance(shown, list | tuple | QuerySet):
        return [face for item in shown for face in _faces_in(item)]
    return []


class RecordSerializer(serializers.ModelSerializer):
    marked_by = serializers.SlugRelatedField(read_only=True, slug_field="username")
    session_date = serializers.DateField(source="session.date", read_only=True)
    course = serializers.IntegerField(source="session.course_id", read_only=True)

    class Meta:
        model = AttendanceRecord
        fields = [
            "id",
            "course",
            "session",
            "session_date",
            "student",
            "status",
            "source",
            "confidence",
            "face",
            "marked_by",
            "marked_at",
            "remark",
        ]


class MarkSerializer(serializers.ModelSerializer):
    """A mark as a capture shows it: who its faces marked, and how."""

    class Meta:
        model = AttendanceRecord
        fields = ["id", "student", "status", "source", "confidence", "face"]


class CaptureSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-capture-detail")
    faces = FaceSerializer(many=True, read_only=True)
    marks = serializers.SerializerMethodField()
    too_small_count = serializers.SerializerMethodField(
        help_text="Faces found but too small to recognise (decision too_small, never matched)."
    )
    too_small_message = serializers.SerializerMethodField(
        help_text="What to do about those faces, for the teacher; empty when there are none."
    )

    class Meta:
        model = Capture
        fields = [
            "id",
            "url",
            "session",
            "state",
            "source",
            "failure_code",
            "failure_reason",
            "width",
            "height",
            "model_version",
            "timings",
            "started_at",
            "finished_at",
            "created_at",
            "faces",
            "too_small_count",
            "too_small_message",
            "marks",
        ]

    def get_too_small_count(self, capture: Capture) -> int:
        # Through the prefetched faces, like the marks.
        return sum(1 for face in capture.faces.all() if face.decision == TOO_SMALL)

    def get_too_small_message(self, capture: Capture) -> str:
        return too_small_message(self.get_too_small_count(capture))

    @extend_schema_field(MarkSerializer(many=True))
    def get_marks(self, capture: Capture) -> list[dict]:
        # Through the faces, so that a list prefetching "faces__records" asks nothing more.
        records = [record for face in capture.faces.all() for record in face.records.all()]
        return MarkSerializer(sorted(records, key=lambda r: r.student_id), many=True).data


class QueuedMixin(serializers.Serializer):
    """What a 202 adds: whether the task reached the queue, and what happens if it did not."""

    queued = serializers.SerializerMethodField(
        help_text="False when the processing queue was unreachable: the upload is kept and "
        "processed as soon as the queue is back (poll `url`)."
    )
    message = serializers.SerializerMethodField()

    def get_queued(self, instance) -> bool:
        return getattr(instance, "enqueued", None) is not False

    def get_message(self, instance) -> str:
        if self.get_queued(instance):
            return "Saved and queued for processing."
        return (
            "Saved. The processing queue cannot be reached right now; this will run when the "
            "queue is back."
        )


class DuplicateMixin(serializers.Serializer):
    duplicate_of = serializers.SerializerMethodField(
        help_text="Set (to this object's id) when the upload was a file sent before: nothing new "
        "was stored and this is the earlier upload (status 200, not 202)."
    )

    def get_duplicate_of(self, instance) -> int | None:
        return instance.pk if getattr(instance, "duplicate", False) else None


class AcceptedCaptureSerializer(DuplicateMixin, QueuedMixin, CaptureSerializer):
    replayed = serializers.SerializerMethodField(
        help_text="True when this answers a repeated Idempotency-Key: the capture saved first."
    )

    class Meta(CaptureSerializer.Meta):
        fields = [*CaptureSerializer.Meta.fields, "queued", "message", "replayed", "duplicate_of"]

    def get_replayed(self, capture: Capture) -> bool:
        return bool(getattr(capture, "replayed", False))


class AcceptedPhotoSerializer(DuplicateMixin, QueuedMixin, ReferencePhotoSerializer):
    class Meta(ReferencePhotoSerializer.Meta):
        fields = [*ReferencePhotoSerializer.Meta.fields, "queued", "message", "duplicate_of"]


class JobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-job-detail")
    percent = serializers.IntegerField(read_only=True)
    counts = serializers.SerializerMethodField()
    queued = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "state",
            "total",
            "done",
            "percent",
            "counts",
            "queued",
            "failure_reason",
            "report",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_counts(self, job: Job) -> dict[str, int]:
        from attendance.services.jobs import job_counts

        return job_counts(job)

    def get_queued(self, job: Job) -> bool:
        return getattr(job, "enqueued", None) is not False


class ImportInput(serializers.Serializer):
    roster = serializers.FileField(required=False, help_text="A roster CSV (UTF-8).")
    photos = serializers.FileField(
        required=False, help_text="A ZIP with one folder of photos per student."
    )


# Input -----------------------------------------------------------------------------------------


class CourseInput(serializers.Serializer):
    code = serializers.CharField(max_length=32, validators=[no_control_characters])
    title = serializers.CharField(max_length=200, validators=[no_control_characters])
    term = serializers.CharField(max_length=64, validators=[no_control_characters])
    teachers = UsernameField(
        many=True,
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="Usernames of the teachers.",
    )
    attendance_threshold = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        help_text="Percent; students whose rate falls below it are flagged (default 80).",
    )
    late_credit = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=0,
        max_value=1,
        required=False,
        help_text="How much a late arrival counts: 1 fully (default), 0.5 half.",
    )
    excused_policy = serializers.ChoiceField(choices=Course.ExcusedPolicy.choices, required=False)


class StudentInput(serializers.Serializer):
    student_number = serializers.CharField(max_length=32, validators=[no_control_characters])
    full_name = serializers.CharField(max_length=200, validators=[no_control_characters])
    email = serializers.EmailField(
        required=False, allow_blank=True, default="", validators=[no_control_characters]
    )
    consent = serializers.BooleanField(
        default=False,
        help_text="True records photo consent now, under the caller's name (they saw it given).",
    )
    consent_method = serializers.ChoiceField(
        choices=ConsentMethod.choices,
        required=False,
        help_text="How the consent was given (with consent true).",
    )


class StudentUpdate(serializers.Serializer):
    full_name = serializers.CharField(
        max_length=200, required=False, validators=[no_control_characters]
    )
    email = serializers.EmailField(
        required=False, allow_blank=True, validators=[no_control_characters]
    )
    active = serializers.BooleanField(
        required=False, help_text="False archives the student: records kept, off the lists."
    )


class EnrollmentInput(serializers.Serializer):
    student = ScopedPrimaryKeyField(students_visible_to)
    course = ScopedPrimaryKeyField(courses_visible_to)
    joined_on = serializers.DateField(required=False, help_text="Defaults to today.")


class EnrollmentUpdate(serializers.Serializer):
    left_on = serializers.DateField(
        help_text="The last day the student belonged to the course: the enrollment ends then."
    )


# Consent ---------------------------------------------------------------------------------------


class ConsentInput(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=ConsentMethod.choices, help_text="How the consent was given."
    )


class ConsentWithdrawQuery(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=ConsentMethod.choices,
        required=False,
        help_text="How the withdrawal was made (kept in the audit trail).",
    )


class ConsentEventSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["consent_recorded", "biometrics_erased"],
        help_text="consent_recorded, or biometrics_erased (withdrawal or deletion).",
    )
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True, help_text="Username; null if gone.")
    method = serializers.CharField(help_text="How; '' when not recorded.")
    reference_photos = serializers.IntegerField(required=False, help_text="Photos erased.")
    faces = serializers.IntegerField(required=False, help_text="Faces in class photos erased.")


class ConsentSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    given = serializers.BooleanField()
    given_at = serializers.DateTimeField(allow_null=True)
    given_by = serializers.CharField(allow_null=True, help_text="Who recorded it (username).")
    method = serializers.CharField(help_text="How it was given; '' when not given.")
    history = ConsentEventSerializer(many=True, help_text="Oldest first.")


# Bulk ------------------------------------------------------------------------------------------

BULK_LIMIT = 500
BULK_HELP = (
    f"A JSON array of at most {BULK_LIMIT} items, applied all or nothing: if any item is "
    "invalid or cannot be applied, nothing changes and the 400 names the item by its index "
    "(fields `3.full_name`). Sending the same array again changes nothing (every outcome "
    "`unchanged`)."
)


class StudentBulkItem(serializers.Serializer):
    student_number = serializers.CharField(max_length=32, validators=[no_control_characters])
    full_name = serializers.CharField(max_length=200, validators=[no_control_characters])
    email = serializers.EmailField(
        required=False, allow_blank=True, validators=[no_control_characters]
    )
    active = serializers.BooleanField(required=False)
    consent = serializers.BooleanField(
        required=False,
        help_text="True records photo consent under the caller's name; false never withdraws it "
        "(use DELETE /api/students/{id}/consent/).",
    )
    consent_method = serializers.ChoiceField(
        choices=ConsentMethod.choices,
        required=False,
        help_text="How the consent was given (with consent true).",
    )


class BulkList(serializers.ListSerializer):
    """A bulk body: 1..BULK_LIMIT items, each key (``unique_by``) at most once."""

    unique_by: tuple[str, ...] = ()

    def validate(self, items: list[dict]) -> list[dict]:
        seen: dict[tuple, int] = {}
        for index, item in enumerate(items):
            key = tuple(getattr(item[k], "pk", item[k]) for k in self.unique_by)
            if key in seen:
                raise serializers.ValidationError(
                    {str(index): [f"The same as item {seen[key]}; send each once."]}
                )
            seen[key] = index
        return items


class StudentBulkList(BulkList):
    unique_by = ("student_number",)


class EnrollmentBulkList(BulkList):
    unique_by = ("student", "course")


def bulk_input(child: serializers.Serializer, list_class) -> serializers.ListSerializer:
    return list_class(child=child, min_length=1, max_length=BULK_LIMIT, allow_empty=False)


class EnrollmentBulkItem(serializers.Serializer):
    student = ScopedPrimaryKeyField(students_visible_to)
    course = ScopedPrimaryKeyField(courses_visible_to)
    joined_on = serializers.DateField(required=False, help_text="Defaults to today.")
    left_on = serializers.DateField(
        required=False, allow_null=True, help_text="Ends the enrollment on that day."
    )


class BulkResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the array, from 0.")
    id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=["created", "updated", "unchanged"])


class BulkCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class BulkResponseSerializer(serializers.Serializer):
    counts = BulkCountsSerializer()
    results = BulkResultSerializer(many=True)


class SessionInput(serializers.Serializer):
    course = ScopedPrimaryKeyField(courses_visible_to)
    date = serializers.DateField()
    start_time = serializers.TimeField()
    end_time = serializers.TimeField()
    room = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        validators=[no_control_characters],
    )


class PhotoInput(serializers.Serializer):
    student = ScopedPrimaryKeyField(students_visible_to)
    image = serializers.FileField(help_text="A JPEG or PNG with exactly one face.")


class CaptureInput(serializers.Serializer):
    session = ScopedPrimaryKeyField(sessions_visible_to)
    image = serializers.FileField(help_text="A class photo (JPEG or PNG).")


REMARK_HELP = 'A short note on the mark (e.g. "doctor\'s note"); blank clears it. Audited.'


class RecordInput(serializers.Serializer):
    session = ScopedPrimaryKeyField(sessions_visible_to)
    student = ScopedPrimaryKeyField(students_visible_to)
    status = serializers.ChoiceField(choices=AttendanceRecord.Status.choices)
    reason = serializers.CharField(max_length=500, help_text="Why; kept in the audit trail.")
    remark = serializers.CharField(
        max_length=REMARK_MAX_LENGTH, required=False, allow_blank=True, help_text=REMARK_HELP
    )


class FaceAssignInput(serializers.Serializer):
    student = ScopedPrimaryKeyField(
        students_visible_to,
        allow_null=True,
        help_text="A student on the session's roster, or null: this face is nobody on the roster.",
    )


class RecordClearInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why; kept in the audit trail.")


class RecordCorrection(serializers.Serializer):
    """A new status (with its reason), a new remark, or both."""

    status = serializers.ChoiceField(choices=AttendanceRecord.Status.choices, required=False)
    reason = serializers.CharField(
        max_length=500, required=False, help_text="Why; kept in the audit trail."
    )
    remark = serializers.CharField(
        max_length=REMARK_MAX_LENGTH, required=False, allow_blank=True, help_text=REMARK_HELP
    )

    def validate(self, data: dict) -> dict:
        if "status" not in data and "remark" not in data:
            raise serializers.ValidationError("Send a status, a remark, or both.")
        if "status" in data and not data.get("reason"):
            raise serializers.ValidationError({"reason": ["A status change needs a reason."]})
        return data


class FinalizeInput(serializers.Serializer):
    force = serializers.BooleanField(
        default=False,
        help_text="Finalize although faces await review or captures are still being processed.",
    )


class PendingReviewSerializer(serializers.Serializer):
    faces_to_review = serializers.IntegerField()
    face_ids = serializers.ListField(child=serializers.IntegerField())
    captures_unfinished = serializers.IntegerField()
    capture_ids = serializers.ListField(child=serializers.IntegerField())
    message = serializers.CharField()


class DateRangeInput(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise serializers.ValidationError({"date_to": ["date_to comes before date_from."]})
        return data


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ErrorSerializer(serializers.Serializer):
    """Every error response: ``{"error": {"code", "message", "fields"?}}``."""

    error = ErrorDetail()


# Report shapes (for the schema; the report views build plain dicts for speed) ------------------


class TallySerializer(serializers.Serializer):
    present = serializers.IntegerField()
    late = serializers.IntegerField()
    absent = serializers.IntegerField()
    excused = serializers.IntegerField()
    unmarked = serializers.IntegerField(help_text="Held sessions with no mark: count as absent.")
    credit = serializers.FloatField()
    counted = serializers.IntegerField(help_text="Cells in the rate's denominator.")
    rate = serializers.FloatField(allow_null=True, help_text="Percent, 1 decimal; null: none held.")


class ReportSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    start_time = serializers.TimeField()
    state = serializers.CharField()
    held = serializers.BooleanField(help_text="Finalized or in the past: counts in rates.")
    tally = TallySerializer()


class ReportStudentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    student_number = serializers.CharField()
    full_name = serializers.CharField()
    flagged = serializers.BooleanField(help_text="Rate below the course's threshold.")
    tally = TallySerializer()
    statuses = serializers.ListField(
        child=serializers.CharField(allow_null=True),
        help_text="One per session, in the order of `sessions`: present, late, absent, excused, "
        "'' (not marked) or null (not enrolled on that date).",
    )


class CourseReportSerializer(serializers.Serializer):
    course = CourseSerializer()
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    threshold = serializers.FloatField()
    tally = TallySerializer()
    rate_histogram = serializers.ListField(
        child=serializers.IntegerField(), help_text="Students per 10 % band of rate, 0-10 first."
    )
    sessions = ReportSessionSerializer(many=True)
    students = ReportStudentSerializer(many=True)


class SheetLineSerializer(serializers.Serializer):
    student = StudentSerializer()
    enrolled = serializers.BooleanField()
    status = serializers.CharField(help_text="'' when not marked.")
    source = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    marked_by = serializers.CharField(allow_null=True)
    marked_at = serializers.DateTimeField(allow_null=True)
    remark = serializers.CharField(help_text="'' when there is none.")


class SessionReportSerializer(serializers.Serializer):
    session = SessionSerializer()
    held = serializers.BooleanField()
    tally = TallySerializer()
    lines = SheetLineSerializer(many=True)


class HistoryCourseSerializer(serializers.Serializer):
    course = CourseSerializer()
    threshold = serializers.FloatField()
    flagged = serializers.BooleanField()
    tally = TallySerializer()
    sessions = ReportSessionSerializer(many=True)
    statuses = serializers.ListField(child=serializers.CharField(allow_null=True))


class StudentReportSerializer(serializers.Serializer):
    student = StudentSerializer()
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    courses = HistoryCourseSerializer(many=True)
