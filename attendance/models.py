"""RollCall's data model.

Reads go through ``attendance.selectors`` and writes through ``attendance.services``; the models
hold the shape of the data and the constraints the database must enforce whatever code runs.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.files.storage import storages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from attendance.validators import no_control_characters


def private_storage():
    """Biometric files go to storage with no public URL; see settings.STORAGES['private']."""
    return storages["private"]


def _upload_path(folder: str, filename: str) -> str:
    # Random names: a student's name or number never appears in a path on disk.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{suffix[:5]}"


def reference_photo_path(instance: ReferencePhoto, filename: str) -> str:
    return _upload_path("reference", filename)


def reference_crop_path(instance: ReferencePhoto, filename: str) -> str:
    return _upload_path("reference-crops", filename)


def capture_path(instance: Capture, filename: str) -> str:
    return _upload_path("captures", filename)


def face_crop_path(instance: DetectedFace, filename: str) -> str:
    return _upload_path("face-crops", filename)


class EmbeddingField(models.BinaryField):
    """A float32 vector stored as raw bytes; read back with ``embedding_array``."""


def embedding_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def embedding_from_bytes(raw: bytes | memoryview | None) -> np.ndarray | None:
    if raw is None:
        return None
    return np.frombuffer(bytes(raw), dtype=np.float32)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Course(TimeStamped):
    class ExcusedPolicy(models.TextChoices):
        EXCLUDED = "excluded", "Not counted (left out of the rate)"
        PRESENT = "present", "Counts as present"
        ABSENT = "absent", "Counts as absent"

    code = models.CharField(max_length=32, validators=[no_control_characters])
    title = models.CharField(max_length=200, validators=[no_control_characters])
    term = models.CharField(
        max_length=64, help_text="For example 2026-fall.", validators=[no_control_characters]
    )
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="courses_taught", blank=True
    )
    attendance_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("80.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Students whose attendance rate (percent) falls below this are flagged.",
    )
    late_credit = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="How much a late arrival counts towards the rate: 1 = fully, 0.5 = half.",
    )
    excused_policy = models.CharField(
        max_length=16, choices=ExcusedPolicy.choices, default=ExcusedPolicy.EXCLUDED
    )
    grow_gallery = models.BooleanField(
        default=False,
        help_text="Faces teachers confirm in this course's class photos become extra reference "
        "faces of the student (consented students only, a few per student, oldest replaced).",
    )

    class Meta:
        ordering = ["term", "code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "term"], name="course_code_unique_per_term")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title} ({self.term})"


class ConsentMethod(models.TextChoices):
    PAPER_FORM = "paper_form", "Signed paper form"
    ONLINE_FORM = "online_form", "Online form"
    EMAIL = "email", "Email"
    IN_PERSON = "in_person", "In person"
    OTHER = "other", "Other"


class StudentQuerySet(models.QuerySet["Student"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        """Every way of deleting students (the admin's bulk action, a shell, a management
        command, code) goes through ``services.students.student_delete``, which erases their
        biometrics and keeps their attendance records."""
        from attendance.services.students import student_delete

        count = 0
        for student in self.order_by("pk"):
            student_delete(student=student)
            count += 1
        return count, {self.model._meta.label: count}


class Student(TimeStamped):
    student_number = models.CharField(
        max_length=32, unique=True, validators=[no_control_characters]
    )
    full_name = models.CharField(max_length=200, validators=[no_control_characters])
    email = models.EmailField(blank=True, validators=[no_control_characters])
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member who recorded the consent.",
    )
    consent_method = models.CharField(
        max_length=16,
        choices=ConsentMethod.choices,
        blank=True,
        help_text="How the consent was given (empty when none is recorded).",
    )
    active = models.BooleanField(default=True, help_text="False: archived (kept with records).")
    deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the student was deleted: only the name and number stay, for the "
        "attendance records the school keeps (services.students.student_delete).",
    )

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["full_name", "student_number"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.student_number})"

    def delete(self, using=None, keep_parents=False) -> tuple[int, dict[str, int]]:
        """Through the service, like a queryset's delete (see ``StudentQuerySet.delete``)."""
        from attendance.services.students import student_delete

        student_delete(student=self)
        return 1, {self._meta.label: 1}

    @property
    def has_photo_consent(self) -> bool:
        return self.consent_given_at is not None


class Enrollment(TimeStamped):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    joined_on = models.DateField(default=timezone.localdate)
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["course", "student"]
        constraints = [
            # A student who leaves and rejoins has one enrollment per period; at most one is open.
            models.UniqueConstraint(
                fields=["student", "course"],
                condition=Q(left_on__isnull=True),
                name="enrollment_one_open_per_course",
            ),
            models.UniqueConstraint(
                fields=["student", "course", "joined_on"], name="enrollment_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("joined_on")),
                name="enrollment_left_after_joined",
            ),
        ]

    # Not a column: True when enrollment_create found this period open already (nothing new).
    existed: bool = False

    def __str__(self) -> str:
        return f"{self.student} in {self.course}"

    def covers(self, day: date) -> bool:
        """Whether the student belonged to the course on ``day`` (joined on or before, not left)."""
        return self.joined_on <= day and (self.left_on is None or day <= self.left_on)


class ReferencePhoto(TimeStamped):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        READY = "ready", "Ready"
        REJECTED = "rejected", "Rejected"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(storage=private_storage, upload_to=reference_photo_path)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    content_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the uploaded file, hex."
    )
    rejection_code = models.CharField(max_length=64, blank=True)
    rejection_reason = models.TextField(blank=True)
    face_box = models.JSONField(null=True, blank=True, help_text="[x, y, width, height] in pixels")
    face_crop = models.ImageField(
        storage=private_storage, upload_to=reference_crop_path, blank=True
    )
    embedding = EmbeddingField(null=True, blank=True, editable=False)
    model_version = models.CharField(max_length=64, blank=True)
    # The head's input (the backbones' fused vector): any model version's embedding is computed
    # from it without the image, and the installation's own model trains on it.
    backbone_embedding = EmbeddingField(null=True, blank=True, editable=False)
    backbone_key = models.CharField(
        max_length=16, blank=True, help_text="Which backbones made backbone_embedding."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set when the photo is a face a teacher confirmed in a class photo (the gallery grew).
    face = models.OneToOneField(
        "DetectedFace",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="gallery_photo",
    )
    # Not a column: whether the broker took the embedding task (see Capture.enqueued).
    enqueued: bool | None = None

    # Not a column: the photo an upload of the same file for the same student answered with.
    duplicate: bool = False

    class Meta:
        ordering = ["student", "-created_at"]
        indexes = [models.Index(fields=["status", "model_version"])]
        constraints = [
            # The same file sent twice for one student (a retry) is one photo, not two.
            models.UniqueConstraint(
                fields=["student", "content_sha256"],
                condition=~Q(content_sha256=""),
                name="reference_photo_unique_content",
            )
        ]

    def __str__(self) -> str:
        return f"Photo #{self.pk} of {self.student}"

    @property
    def embedding_array(self) -> np.ndarray | None:
        return embedding_from_bytes(self.embedding)


class ReferenceEmbedding(models.Model):
    """A reference photo's embedding by one model version. Every version that may serve has its
    own rows, so a new model is embedded while the old one serves, and a capture matches only
    against rows of the version it started with."""

    photo = models.ForeignKey(ReferencePhoto, on_delete=models.CASCADE, related_name="embeddings")
    model_version = models.CharField(max_length=64)
    embedding = EmbeddingField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "model_version"], name="reference_embedding_one_per_version"
            )
        ]
        indexes = [models.Index(fields=["model_version", "photo"])]

    def __str__(self) -> str:
        return f"Embedding of photo #{self.photo_id} by {self.model_version}"


class FaceModel(models.Model):
    """A version of the face model: the shipped one, or a Siamese head trained here on the
    installation's consented students. Holds how it was made (counts, never photos), its
    evaluation on held-out students beside the serving model's, and whether it serves."""

    class Source(models.TextChoices):
        SHIPPED = "shipped", "Shipped with RollCall"
        TRAINED = "trained", "Trained here"

    class State(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Trained"
        FAILED = "failed", "Failed"

    version = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.READY)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trained_at = models.DateTimeField(null=True, blank=True)
    base_version = models.CharField(
        max_length=64, blank=True, help_text="The shipped model whose backbones it builds on."
    )
    backbone_signature = models.TextField(blank=True)
    threshold = models.FloatField(help_text="Euclidean distance; automatic match at or below.")
    review_threshold = models.FloatField()
    match_margin = models.FloatField(default=0.05)
    weights = models.BinaryField(
        null=True, blank=True, editable=False, help_text="The head's .npz (trained models)."
    )
    include_class_faces = models.BooleanField(
        default=False, help_text="Trained also on faces teachers confirmed in class photos."
    )
    students = models.PositiveIntegerField(default=0, help_text="Students trained on.")
    photos = models.PositiveIntegerField(default=0, help_text="Reference photos trained on.")
    class_faces = models.PositiveIntegerField(default=0, help_text="Class-photo faces trained on.")
    trained_students = models.ManyToManyField(
        Student, blank=True, related_name="face_models_trained"
    )
    heldout_students = models.ManyToManyField(
        Student, blank=True, related_name="face_models_heldout"
    )
    details = models.JSONField(default=dict, blank=True, help_text="Training settings, history.")
    evaluation = models.JSONField(
        default=dict, blank=True, help_text="Held-out figures of this model and the champion."
    )
    evaluated_at = models.DateTimeField(null=True, blank=True)
    serving = models.BooleanField(default=False)
    serving_since = models.DateTimeField(null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The model that served before this one (where a rollback returns).",
    )
    needs_retraining = models.BooleanField(default=False)
    retraining_reason = models.TextField(blank=True)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["serving"], condition=Q(serving=True), name="face_model_one_serving"
            )
        ]

    def __str__(self) -> str:
        return self.version

    @property
    def is_trained(self) -> bool:
        return self.source == self.Source.TRAINED


class GalleryCalibration(models.Model):
    """The automatic-match threshold that a course's own reference photos support.

    Distances between DIFFERENT students' reference photos are a sample of how close this
    school's strangers come to a student (``facerec.calibrate_gallery``). Kept per course and
    recomputed whenever the gallery it came from changes (``gallery_digest``).
    """

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="calibration")
    model_version = models.CharField(max_length=64)
    gallery_digest = models.CharField(
        max_length=40, help_text="SHA-1 of the model version and the reference photo ids used."
    )
    threshold = models.FloatField(help_text="Euclidean distance; automatic match at or below.")
    impostors = models.PositiveIntegerField(help_text="Different-student distances measured.")
    far = models.FloatField(help_text="Share of those distances at or below the threshold.")
    closest_impostor = models.FloatField(null=True, blank=True)
    students = models.PositiveIntegerField()
    photos = models.PositiveIntegerField()
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calibration of {self.course}: {self.threshold:.3f}"


class ClassSession(TimeStamped):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        FINALIZED = "finalized", "Finalized"
        # Did not take place (a strike, a trip): counts for nobody, takes no marks, keeps any.
        CANCELLED = "cancelled", "Cancelled"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField()
    start_time = models.TimeField()
    end_time = models.TimeField()
    room = models.CharField(max_length=64, blank=True, validators=[no_control_characters])
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    finalized_at = models.DateTimeField(null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["date", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "date", "start_time"], name="session_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")),
                name="session_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.code} on {self.date:%Y-%m-%d} {self.start_time:%H:%M}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class Holiday(models.Model):
    """A day without classes for the whole installation (a public holiday, a school break):
    generating a term's weekly sessions skips it. Admins keep the list in the app."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100, validators=[no_control_characters])

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%Y-%m-%d})"


class Capture(TimeStamped):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded photo"
        WEBCAM = "webcam", "Webcam frame"
        API = "api", "API"

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="captures")
    # Blank once the retention period has passed (photo_deleted_at says when).
    image = models.ImageField(storage=private_storage, upload_to=capture_path, blank=True)
    photo_deleted_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(
        default=dict,
        blank=True,
        help_text="Seconds per stage: decode, detect, embed, match, save.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    content_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the uploaded photo, hex."
    )
    idempotency_key = models.CharField(
        max_length=128,
        blank=True,
        validators=[no_control_characters],
        help_text="The client's Idempotency-Key: the same key again returns this capture.",
    )

    # Not columns: set after the upload's commit to whether the broker took the task (None
    # until then, False when the broker was down and the sweep will send it later), and whether
    # this answers a repeated Idempotency-Key.
    enqueued: bool | None = None
    replayed: bool = False
    # Not a column: True when this answers an upload of the same photo to the same session.
    duplicate: bool = False
    # Not a column either: what to tell the teacher about faces too small to recognise, set by
    # selectors.captures.session_captures.
    too_small_message: str = ""

    class Meta:
        ordering = ["session", "created_at"]
        constraints = [
            # A client that retries an upload (a timeout, a flaky network) sends the same key:
            # the database, not a check before the insert, guarantees a single capture.
            models.UniqueConstraint(
                fields=["taken_by", "session", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="capture_idempotency_key_unique",
            ),
            # The same photo uploaded twice to a session is one capture, one set of faces.
            models.UniqueConstraint(
                fields=["session", "content_sha256"],
                condition=~Q(content_sha256=""),
                name="capture_unique_content",
            ),
        ]

    def __str__(self) -> str:
        return f"Capture #{self.pk} of {self.session}"


class DetectedFace(models.Model):
    class Decision(models.TextChoices):
        AUTO = "auto", "Matched automatically"
        REVIEW = "review", "Needs review"
        UNKNOWN = "unknown", "Unknown"
        CONFIRMED = "confirmed", "Confirmed by a person"
        CORRECTED = "corrected", "Corrected by a person"
        # Found by the detector but too few pixels to recognise: no embedding, never matched.
        TOO_SMALL = "too_small", "Too small to recognise"

    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="faces")
    index = models.PositiveIntegerField(help_text="Position of the face in the capture, from 0.")
    box = models.JSONField(help_text="[x, y, width, height] in pixels of the capture")
    landmarks = models.JSONField(default=list, blank=True)
    detector_score = models.FloatField()
    embedding = EmbeddingField(null=True, blank=True, editable=False)
    backbone_embedding = EmbeddingField(null=True, blank=True, editable=False)
    backbone_key = models.CharField(max_length=16, blank=True)
    crop = models.ImageField(storage=private_storage, upload_to=face_crop_path, blank=True)
    student = models.ForeignKey(
        Student,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="detections",
    )
    distance = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    candidates = models.JSONField(
        default=list,
        blank=True,
        help_text="Best candidates: [{student_id, distance}, ...]",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["capture", "index"]
        constraints = [
            models.UniqueConstraint(fields=["capture", "index"], name="face_unique_index"),
            # One student is at most one face in a photo.
            models.UniqueConstraint(
                fields=["capture", "student"],
                condition=Q(student__isnull=False),
                name="face_one_per_student_per_capture",
            ),
        ]

    def __str__(self) -> str:
        return f"Face {self.index} of capture #{self.capture_id}"

    @property
    def embedding_array(self) -> np.ndarray | None:
        return embedding_from_bytes(self.embedding)


REMARK_MAX_LENGTH = 200


class AttendanceRecord(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    class Source(models.TextChoices):
        FACE = "face", "Face recognition"
        MANUAL = "manual", "Marked by hand"
        API = "api", "API"
        FINALIZE = "finalize", "Absent at finalization"

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="records")
    # PROTECT: a record never goes with its student (a deleted student stays as name and number).
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="records")
    status = models.CharField(max_length=16, choices=Status.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    confidence = models.FloatField(
        null=True,
        blank=True,
        help_text="0..1 for face matches; empty when marked by a person.",
    )
    face = models.ForeignKey(
        DetectedFace,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="records",
    )
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    marked_at = models.DateTimeField(default=timezone.now)
    remark = models.CharField(
        max_length=REMARK_MAX_LENGTH,
        blank=True,
        help_text='A short note on the mark, e.g. "doctor\'s note".',
    )

    class Meta:
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="record_one_per_student")
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.status} at {self.session}"


class AttendanceChange(models.Model):
    """The audit trail: one row for every change of a record, never updated or deleted by the app.

    It names the session and student itself, so a record that is cleared (a face unassigned and
    no other evidence left) keeps its history; an empty status means "no mark".
    """

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="changes")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="changes")
    record = models.ForeignKey(
        AttendanceRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16, blank=True)
    old_source = models.CharField(max_length=16, blank=True)
    new_source = models.CharField(max_length=16, blank=True)
    old_remark = models.CharField(max_length=REMARK_MAX_LENGTH, blank=True)
    new_remark = models.CharField(max_length=REMARK_MAX_LENGTH, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "student", "changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.old_status or '-'} -> {self.new_status} ({self.changed_at:%Y-%m-%d %H:%M})"


class AuditEvent(models.Model):
    """The audit trail of what is not a mark: finalizing and reopening a session, admin edits,
    erasures of biometric data, retention purges and data exports. Never updated or deleted by the
    app; a deleted session or student leaves ``subject`` (what it was) behind."""

    class Action(models.TextChoices):
        SESSION_FINALIZED = "session_finalized", "Session finalized"
        SESSION_REOPENED = "session_reopened", "Session reopened"
        FACE_REVIEWED = "face_reviewed", "Face confirmed or assigned by a person"
        FACE_REVIEW_UNDONE = "face_review_undone", "Face decision undone"
        ADMIN_ADDED = "admin_added", "Added in the Django admin"
        ADMIN_CHANGED = "admin_changed", "Changed in the Django admin"
        ADMIN_DELETED = "admin_deleted", "Deleted in the Django admin"
        CONSENT_RECORDED = "consent_recorded", "Photo consent recorded"
        BIOMETRICS_ERASED = "biometrics_erased", "Biometric data erased"
        RETENTION_PURGED = "retention_purged", "Class photos past retention deleted"
        DATA_EXPORTED = "data_exported", "Student data exported"
        COURSE_CHANGED = "course_changed", "Course changed"
        COURSE_DELETED = "course_deleted", "Course deleted"
        STUDENT_CHANGED = "student_changed", "Student changed"
        ENROLLMENT_ENDED = "enrollment_ended", "Enrollment ended"
        ENROLLMENT_DELETED = "enrollment_deleted", "Enrollment deleted"
        TEACHER_INVITED = "teacher_invited", "Teacher invited"
        TEACHER_DEACTIVATED = "teacher_deactivated", "Teacher deactivated"
        TEACHER_ACTIVATED = "teacher_activated", "Teacher reactivated"
        SESSIONS_CANCELLED = "sessions_cancelled", "Sessions cancelled"
        SESSIONS_DELETED = "sessions_deleted", "Sessions deleted"
        FACE_MODEL_TRAINED = "face_model_trained", "Face model trained"
        FACE_MODEL_SWITCHED = "face_model_switched", "Face model switched (promoted or rolled back)"
        HOLIDAY_ADDED = "holiday_added", "Holiday added"
        HOLIDAY_REMOVED = "holiday_removed", "Holiday removed"

    action = models.CharField(max_length=32, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session = models.ForeignKey(
        ClassSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    subject = models.CharField(max_length=300, blank=True, help_text="What it concerned, in words.")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.subject} ({self.at:%Y-%m-%d %H:%M})"


def job_input_path(instance: Job, filename: str) -> str:
    return _upload_path("jobs", filename)


class Job(TimeStamped):
    """Long work done in the background with progress: a roster import, several class photos of
    a session, or several reference photos of a student.

    The request stores the input files and answers at once; the worker works through the items
    (roster lines, photos) in batches, each batch committed together with ``done`` and its report
    lines, so that a killed worker's job resumes where it stopped and never applies a line twice.
    """

    class Kind(models.TextChoices):
        ROSTER_IMPORT = "roster_import", "Roster import"
        CAPTURE_UPLOAD = "capture_upload", "Class photos upload"
        REFERENCE_PHOTOS = "reference_photos", "Reference photos upload"
        FACE_MODEL_TRAIN = "face_model_train", "Face model training"
        FACE_MODEL_SWITCH = "face_model_switch", "Face model switch (re-embedding)"

    class State(models.TextChoices):
        # A roster import's dry run: the files are stored and the report says what importing
        # them would do; nothing runs until a person confirms (then QUEUED).
        PREVIEW = "preview", "Preview"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    session = models.ForeignKey(
        ClassSession, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    face_model = models.ForeignKey(
        "FaceModel", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    options = models.JSONField(default=dict, blank=True)
    roster = models.FileField(storage=private_storage, upload_to=job_input_path, blank=True)
    photos = models.FileField(storage=private_storage, upload_to=job_input_path, blank=True)
    images = models.JSONField(
        default=list,
        blank=True,
        help_text="Class or reference photos: [{name, path}] in private storage.",
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    report = models.JSONField(
        default=list, blank=True, help_text="[{where, outcome, message}], one per line or photo."
    )
    failure_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Not columns: whether the broker took the job's task (see Capture.enqueued), and while a
    # worker runs it, how many items of the phases before this one are already counted in done.
    enqueued: bool | None = None
    offset: int = 0

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.DONE, self.State.FAILED}

    @property
    def percent(self) -> int:
        return 100 if self.is_finished else int(100 * self.done / self.total) if self.total else 0


def api_token_digest(key: str) -> str:
    """SHA-256 of a token key, hex. Keys are long random strings, so a plain (unsalted, fast)
    hash is enough: what the database holds cannot be used to call the API."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A named credential for scripts calling the API as ``user``. Only the key's hash is kept;
    the key itself is shown once, when it is created (``attendance.services.tokens``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'gradebook sync'.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="The key's first characters, to recognise it."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "-created_at", "pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, *, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


# Webhooks ---------------------------------------------------------------------------------------


class WebhookEndpoint(TimeStamped):
    """An integrator's URL that RollCall POSTs signed events to (see services/webhooks.py)."""

    class Event(models.TextChoices):
        CAPTURE_DONE = "capture.done", "A class photo was processed (done or failed)"
        SESSION_FINALIZED = "session.finalized", "A session was finalized"
        RECORD_CHANGED = "record.changed", "An attendance mark was set, changed or cleared"
        STUDENT_ERASED = "student.erased", "A student's biometric data was erased"

    url = models.URLField(max_length=500, help_text="Where events are POSTed (http or https).")
    secret = models.CharField(
        max_length=128, help_text="Shared secret of the HMAC-SHA256 signature."
    )
    events = models.JSONField(default=list, help_text="Event names this endpoint receives.")
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Failed attempts in a row; reset by any success."
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, and every attempt to send it (the delivery log)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=WebhookEndpoint.Event.choices)
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    payload = models.JSONField()
    order_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="Deliveries with the same key (e.g. session:12) are sent in creation order.",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(
        default=list, blank=True, help_text="Every attempt: [{at, status_code, error, ms}]."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} to {self.endpoint}"
