"""The Django admin: staff manage users, courses, students, enrollments and photos here too.

Biometric fields (embeddings) are never shown; photos are linked through the permission-checked
file views, never through a public media URL.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from attendance.errors import DomainError
from attendance.models import (
    ApiToken,
    AttendanceChange,
    AttendanceRecord,
    AuditEvent,
    Capture,
    ClassSession,
    Course,
    DetectedFace,
    Enrollment,
    Holiday,
    ReferencePhoto,
    Student,
    WebhookDelivery,
    WebhookEndpoint,
)
from attendance.services import courses as course_services
from attendance.services import students as student_services
from attendance.services import webhooks as webhook_services
from attendance.services.audit import audit_event


class Audited(admin.ModelAdmin):
    """Every add, change and delete made in the admin lands on the app's audit trail as well as
    Django's own admin log, with who did it and the admin's change message."""

    def _audit(self, request, action: str, obj, message: str = "") -> None:
        audit_event(
            action=action,
            by=request.user,
            session=obj if isinstance(obj, ClassSession) else None,
            student=obj if isinstance(obj, Student) and obj.pk else None,
            subject=f"{obj._meta.verbose_name} #{obj.pk}: {obj}",
            detail={"model": obj._meta.label, "id": obj.pk, "message": str(message)},
        )

    def log_addition(self, request, obj, message):
        self._audit(request, AuditEvent.Action.ADMIN_ADDED, obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, AuditEvent.Action.ADMIN_CHANGED, obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, AuditEvent.Action.ADMIN_DELETED, obj)
        return super().log_deletions(request, queryset)


class ThroughServices(Audited):
    """Saves and deletes go through the services, whose rules and domain errors are the same as
    on the pages and the API. A domain error undoes the whole admin request (the admin wraps it
    in one transaction) and comes back as the page's error message."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._refusing(
            request, lambda: super(ThroughServices, self).changeform_view(
                request, object_id, form_url, extra_context
            )
        )  # fmt: skip

    def delete_view(self, request, object_id, extra_context=None):
        return self._refusing(
            request, lambda: super(ThroughServices, self).delete_view(
                request, object_id, extra_context
            )
        )  # fmt: skip

    def changelist_view(self, request, extra_context=None):  # the bulk delete action
        return self._refusing(
            request, lambda: super(ThroughServices, self).changelist_view(request, extra_context)
        )

    def _refusing(self, request, view):
        try:
            return view()
        except DomainError as error:
            self.message_user(request, f"Nothing was saved: {error.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _enrollment_save(enrollment: Enrollment, *, by, course: Course | None = None) -> Enrollment:
    """An enrollment from an admin form, new or changed, through the course services."""
    if enrollment.pk is None:
        saved = course_services.enrollment_create(
            student=enrollment.student,
            course=course or enrollment.course,
            joined_on=enrollment.joined_on,
        )
        if enrollment.left_on is not None:
            saved = course_services.enrollment_end(
                enrollment=saved, left_on=enrollment.left_on, by=by
            )
        return saved
    return course_services.enrollment_update(
        enrollment=Enrollment.objects.get(pk=enrollment.pk),
        joined_on=enrollment.joined_on,
        left_on=enrollment.left_on,
    )


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 0
    autocomplete_fields = ["student"]


@admin.register(Course)
class CourseAdmin(ThroughServices):
    list_display = ["code", "title", "term", "attendance_threshold"]
    list_filter = ["term"]
    search_fields = ["code", "title"]
    filter_horizontal = ["teachers"]
    inlines = [EnrollmentInline]

    def save_model(self, request, obj: Course, form, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            name: data[name]
            for name in (
                "code",
                "title",
                "term",
                "teachers",
                "attendance_threshold",
                "late_credit",
                "excused_policy",
            )
        }
        if change:
            saved = course_services.course_update(course=Course.objects.get(pk=obj.pk), **fields)
        else:
            saved = course_services.course_create(**fields)
        obj.pk = saved.pk  # the admin's own m2m save and inlines then see the saved course
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not Enrollment:
            return super().save_formset(request, form, formset, change)
        enrollments = formset.save(commit=False)
        for gone in formset.deleted_objects:
            course_services.enrollment_delete(enrollment=gone)
        for enrollment in enrollments:
            _enrollment_save(enrollment, by=request.user, course=form.instance)

    def delete_model(self, request, obj: Course) -> None:
        course_services.course_delete(course=obj)

    def delete_queryset(self, request, queryset) -> None:
        for course in queryset:
            course_services.course_delete(course=course)


def _file_link(url_name: str, *args: object, label: str = "open") -> str:
    # Biometric files have no public URL; link to the permission-checked view instead.
    return format_html('<a href="{}">{}</a>', reverse(f"attendance:{url_name}", args=args), label)


class PhotoUploadsInTheApp:
    """Photos are added in the app (student page, bulk import), whose service checks consent and
    sends the photo to be embedded; an admin form would skip both, so it only shows them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReferencePhotoInline(PhotoUploadsInTheApp, admin.TabularInline):
    model = ReferencePhoto
    extra = 0
    fields = ["photo", "status", "rejection_reason", "model_version", "crop_preview"]
    readonly_fields = fields

    @admin.display(description="Photo")
    def photo(self, photo: ReferencePhoto) -> str:
        return _file_link("reference_photo_file", photo.pk, "image")

    @admin.display(description="Face used")
    def crop_preview(self, photo: ReferencePhoto) -> str:
        if not photo.face_crop:
            return "-"
        url = reverse("attendance:reference_photo_file", args=[photo.pk, "crop"])
        return format_html('<img src="{}" width="64" height="64" alt="face">', url)


@admin.register(Student)
class StudentAdmin(ThroughServices):
    list_display = [
        "student_number",
        "full_name",
        "email",
        "active",
        "consent_given_at",
        "deleted_at",
    ]
    list_filter = ["active", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["student_number", "full_name", "email"]
    readonly_fields = ["consent_given_at", "consent_given_by", "deleted_at"]
    inlines = [ReferencePhotoInline]

    def save_model(self, request, obj: Student, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            student_services.student_update(
                student=Student.objects.get(pk=obj.pk),
                by=request.user,
                **{k: data[k] for k in student_services.STUDENT_FIELDS},
            )
        else:
            saved = student_services.student_create(
                student_number=data["student_number"],
                full_name=data["full_name"],
                email=data["email"],
            )
            obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: Student) -> None:
        # Through the service: faces in class photos are erased too, the attendance records
        # kept, and the erasure audited.
        student_services.student_delete(student=obj, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for student in queryset:
            student_services.student_delete(student=student, by=request.user)

    def get_deleted_objects(self, objs, request):
        # What the confirmation page lists: the students themselves. Their records are kept
        # (the service archives a student with records), so they are not "to be deleted".
        students = list(objs)
        names = [format_html("{} (photos and faces erased, records kept)", s) for s in students]
        return names, {Student._meta.verbose_name_plural: len(students)}, set(), []


@admin.register(Holiday)
class HolidayAdmin(Audited):
    """Also kept on the app's Holidays page; generating a term skips these days."""

    list_display = ["date", "name"]
    date_hierarchy = "date"


@admin.register(Enrollment)
class EnrollmentAdmin(ThroughServices):
    list_display = ["student", "course", "joined_on", "left_on"]
    list_filter = ["course"]
    autocomplete_fields = ["student", "course"]

    def save_model(self, request, obj: Enrollment, form, change: bool) -> None:
        obj.pk = _enrollment_save(obj, by=request.user).pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: Enrollment) -> None:
        course_services.enrollment_delete(enrollment=obj)

    def delete_queryset(self, request, queryset) -> None:
        for enrollment in queryset:
            course_services.enrollment_delete(enrollment=enrollment)


@admin.register(ReferencePhoto)
class ReferencePhotoAdmin(PhotoUploadsInTheApp, Audited):
    list_display = ["id", "student", "status", "rejection_reason", "model_version", "created_at"]
    list_filter = ["status", "model_version"]
    search_fields = ["student__full_name", "student__student_number"]
    fields = [
        "student",
        "photo",
        "status",
        "rejection_code",
        "rejection_reason",
        "face_box",
        "model_version",
        "processed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Photo")
    def photo(self, photo: ReferencePhoto) -> str:
        return _file_link("reference_photo_file", photo.pk, "image")


@admin.register(ClassSession)
class ClassSessionAdmin(Audited):
    list_display = ["course", "date", "start_time", "end_time", "room", "state"]
    list_filter = ["state", "course"]
    date_hierarchy = "date"
    # Finalize and reopen only through the session page or the API, whose services audit them.
    readonly_fields = ["state", "finalized_at", "finalized_by"]


class DetectedFaceInline(admin.TabularInline):
    model = DetectedFace
    extra = 0
    exclude = ["embedding"]
    readonly_fields = ["index", "box", "detector_score", "student", "distance", "decision"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Capture)
class CaptureAdmin(Audited):
    list_display = ["id", "session", "source", "state", "taken_by", "created_at"]
    list_filter = ["state", "source"]
    fields = [
        "session",
        "photo",
        "source",
        "taken_by",
        "state",
        "failure_code",
        "failure_reason",
        "width",
        "height",
        "model_version",
        "timings",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields
    inlines = [DetectedFaceInline]

    def has_add_permission(self, request) -> bool:
        return False  # captures come from the session page or the API, which enqueue them

    @admin.display(description="Photo")
    def photo(self, capture: Capture) -> str:
        return _file_link("capture_file", capture.pk)


class AttendanceChangeInline(admin.TabularInline):
    model = AttendanceChange
    fk_name = "record"
    extra = 0
    can_delete = False
    readonly_fields = [
        "old_status",
        "new_status",
        "old_source",
        "new_source",
        "changed_by",
        "changed_at",
        "reason",
    ]
    fields = readonly_fields


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(Audited):
    list_display = ["session", "student", "status", "source", "confidence", "marked_by"]
    list_filter = ["status", "source"]
    search_fields = ["student__full_name"]
    inlines = [AttendanceChangeInline]

    # Marks change only through the app and the API, whose services write the audit trail; an
    # edit here would change a record without a trace.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a mark is cleared in the app, where the audit trail keeps it


@admin.register(AttendanceChange)
class AttendanceChangeAdmin(Audited):
    list_display = ["session", "student", "old_status", "new_status", "changed_by", "changed_at"]
    list_filter = ["new_status"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the audit trail is append-only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Webhooks --------------------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        required=False,
        max_length=128,
        help_text="Leave blank to generate one. Receivers verify the RollCall-Signature header "
        "with it (see README, Webhooks).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "secret", "description", "active"]


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ["created_at", "event", "state", "attempts", "last_status_code", "last_error"]
    readonly_fields = fields
    ordering = ["-pk"]
    show_change_link = True
    max_num = 0

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are saved through the webhook service (events checked, secret generated,
    switching one on again sends what waited)."""

    form = WebhookEndpointForm
    list_display = ["url", "active", "consecutive_failures", "disabled_reason", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason"]
    inlines = [WebhookDeliveryInline]
    actions = ["enable_endpoints"]

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            fields = {k: data[k] for k in ("url", "events", "description", "active")}
            if data["secret"]:
                fields["secret"] = data["secret"]
            saved = webhook_services.webhook_endpoint_update(
                endpoint=WebhookEndpoint.objects.get(pk=obj.pk), **fields
            )
        else:
            saved = webhook_services.webhook_endpoint_create(
                url=data["url"],
                events=data["events"],
                secret=data["secret"],
                description=data["description"],
                by=request.user,
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def get_changeform_initial_data(self, request) -> dict:
        return {"events": WebhookEndpoint.Event.values}

    @admin.action(description="Enable again (and send the deliveries that waited)")
    def enable_endpoints(self, request, queryset) -> None:
        for endpoint in queryset:
            webhook_services.webhook_endpoint_enable(endpoint=endpoint)
        self.message_user(request, f"{queryset.count()} endpoint(s) enabled.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, every attempt with its status code."""

    list_display = [
        "pk",
        "endpoint",
        "event",
        "state",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["state", "event", "endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "by", "subject"]
    list_filter = ["action"]
    search_fields = ["subject"]
    readonly_fields = ["action", "at", "by", "session", "student", "subject", "detail"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the audit trail is append-only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see every token and its last use, and revoke one by deleting it. The key is never
    here: only its hash is stored, and the hash is not shown either."""

    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at"]
    list_filter = ["expires_at"]
    search_fields = ["name", "user__username", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a key is created by its owner on the API tokens page, and shown only there
