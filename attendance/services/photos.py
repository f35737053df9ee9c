"""Reference photos: checked and saved in the request, embedded by a Celery task afterwards.

The web request only decodes the upload (cheap, no TensorFlow) so that a file that is not an image
is refused at once; detection, the quality checks and the embedding run in the worker. Matching
uses only photos embedded by the current model version (see ``selectors.captures``).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.errors import Conflict, InvalidInput
from attendance.models import ReferencePhoto, Student, embedding_to_bytes
from attendance.services.calibration import calibrate_after_commit
from facerec.model import backbone_key

logger = logging.getLogger(__name__)
Status = ReferencePhoto.Status


# The stored name's suffix comes from the decoded format, never from the uploaded name: the file
# views pick the Content-Type from it, and "photo.html" must not be served as a web page.
SUFFIXES = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


@dataclass(frozen=True)
class CheckedImage:
    width: int
    height: int
    suffix: str = "bin"

    @property
    def filename(self) -> str:
        return f"photo.{self.suffix}"


def image_check(image_file: File) -> CheckedImage:
    """Decode an uploaded photo once to refuse what is not a usable image, with a clear message.

    Raises InvalidInput with the image library's code: not_an_image, truncated_image,
    image_too_large or unsupported_image; or file_too_large before reading an oversized file.
    """
    import facerec

    limit = settings.ROLLCALL_MAX_UPLOAD_BYTES
    if image_file.size is not None and image_file.size > limit:
        raise InvalidInput(
            f"The file is {image_file.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.",
            code="file_too_large",
        )
    image_file.seek(0)
    data = image_file.read()
    image_file.seek(0)
    try:
        # The worker decodes the full photo later; here a JPEG is decoded at 1/8 scale.
        width, height = facerec.check_image(data, max_pixels=settings.ROLLCALL_MAX_IMAGE_PIXELS)
    except facerec.ImageError as error:
        raise InvalidInput(error.message, code=error.code) from error
    return CheckedImage(width=width, height=height, suffix=_suffix(data))


def file_sha256(image_file: File) -> str:
    """The SHA-256 of an uploaded file's content, hex; the file is left at its start."""
    digest = hashlib.sha256()
    image_file.seek(0)
    for chunk in image_file.chunks():
        digest.update(chunk)
    image_file.seek(0)
    return digest.hexdigest()


def _suffix(data: bytes) -> str:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return SUFFIXES.get(image.format or "", "bin")


class NoConsent(Conflict):
    """Photos of a student without recorded consent are refused. ``api_message`` names the API
    call that records it, for API clients; ``message`` names the page."""

    code = "no_consent"

    def __init__(self, student: Student) -> None:
        super().__init__(
            f"{student.full_name} has no recorded photo consent; record the consent on the "
            "student's page before adding photos."
        )
        self.api_message = (
            f"{student.full_name} has no recorded photo consent; record it with "
            f"POST /api/students/{student.pk}/consent/ before adding photos."
        )


def no_consent_error(student: Student) -> Conflict:
    return NoConsent(student)


@transaction.atomic
def reference_photo_add(*, student: Student, image_file: File, by: User | None) -> ReferencePhoto:
    """Save a reference photo of ``student`` and enqueue its embedding after the commit.

    The student row is locked so that a consent withdrawn at the same moment cannot let a photo
    slip in after the erase; the same lock makes the same file sent twice (a retry) meet the
    first one, which is returned with ``duplicate`` True instead of a second photo.
    """
    student = Student.objects.select_for_update().get(pk=student.pk)
    if not student.has_photo_consent:
        raise no_consent_error(student)
    digest = file_sha256(image_file)
    earlier = ReferencePhoto.objects.filter(student=student, content_sha256=digest).first()
    if earlier is not None:
        earlier.duplicate = True
        return earlier
    checked = image_check(image_file)
    photo = ReferencePhoto(
        student=student, uploaded_by=by, status=Status.PENDING, content_sha256=digest
    )
    photo.image.save(checked.filename, image_file, save=False)
    photo.full_clean()
    photo.save()
    photo.enqueued = None  # after the commit: False when the broker was down (the sweep sends it)

    def enqueue() -> None:
        from attendance import tasks

        photo.enqueued = tasks.enqueue_reference_photo(photo.pk)

    transaction.on_commit(enqueue)
    return photo


@transaction.atomic
def reference_photo_delete(*, photo: ReferencePhoto) -> None:
    student_id = photo.student_id
    photo.delete()  # its files go after commit (attendance.files)
    calibrate_after_commit(student_id)


def reference_photo_process(*, photo_id: int, from_image: bool = False) -> ReferencePhoto | None:
    """Detect, check and embed one reference photo with the serving model (and every other live
    version, see ``face_models.live_models``). Safe to run twice.

    The heavy work runs outside any transaction; the result is written under a row lock, and
    only if the photo still exists (consent may have been withdrawn meanwhile). A ready photo
    whose backbone vector is kept is embedded again from it, without the image.
    from_image: embed a photo again from its image even when its embedding is current (after a
    change in how references are embedded, such as the mirror view: ``manage.py reembed_photos
    --from-images``); the old embedding serves until the new one replaces it.
    """
    import facerec
    from attendance.services import face_models

    model = face_models.serving_model()
    version = model.version
    photo = ReferencePhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        return None
    if not from_image and photo.status != Status.PENDING and photo.model_version == version:
        return photo
    if not from_image and photo.status == Status.READY and photo.backbone_key == backbone_key():
        return _reembed_from_backbone(photo_id, version)
    try:
        with photo.image.open("rb") as handle:
            data = handle.read()
        pixels = facerec.load_image(data, max_pixels=settings.ROLLCALL_MAX_IMAGE_PIXELS)
        analyzed = facerec.embed_reference_photo(pixels, head=face_models.model_head(model))
    except facerec.FaceRecError as error:
        return _photo_result(photo_id, version, rejection=(error.code, error.message))
    except FileNotFoundError:
        return _photo_result(
            photo_id,
            version,
            rejection=("file_missing", "The photo file is gone; upload it again."),
        )
    return _photo_result(photo_id, version, analyzed=analyzed)


@transaction.atomic
def _reembed_from_backbone(photo_id: int, version: str) -> ReferencePhoto | None:
    from attendance.models import embedding_from_bytes
    from attendance.services import face_models

    photo = ReferencePhoto.objects.select_for_update().filter(pk=photo_id).first()
    if photo is None or photo.status != Status.READY or photo.backbone_key != backbone_key():
        return photo
    backbone = embedding_from_bytes(photo.backbone_embedding)
    assert backbone is not None
    face_models.photo_embeddings_write(photo=photo, backbone=backbone)
    photo.embedding = photo.embeddings.get(model_version=version).embedding
    photo.model_version, photo.processed_at = version, timezone.now()
    photo.save(update_fields=["embedding", "model_version", "processed_at", "updated_at"])
    calibrate_after_commit(photo.student_id)
    return photo


def reference_photo_backbone(photo: ReferencePhoto):
    """The backbone vector of a ready photo made before they were kept: the photo goes through
    the pipeline again (detection, alignment, backbones) and the vector is stored. None when the
    image is gone or no longer passes the checks (the photo then stays as it is)."""
    import facerec

    try:
        with photo.image.open("rb") as handle:
            pixels = facerec.load_image(
                handle.read(), max_pixels=settings.ROLLCALL_MAX_IMAGE_PIXELS
            )
        analyzed = facerec.embed_reference_photo(pixels)
    except (facerec.FaceRecError, FileNotFoundError):
        return None
    if analyzed.backbone is None:
        return None
    photo.backbone_embedding = embedding_to_bytes(analyzed.backbone)
    photo.backbone_key = backbone_key()
    photo.save(update_fields=["backbone_embedding", "backbone_key", "updated_at"])
    return analyzed.backbone


@transaction.atomic
def _photo_result(photo_id: int, version: str, *, analyzed=None, rejection=None):
    from attendance.services import face_models

    photo = ReferencePhoto.objects.select_for_update().filter(pk=photo_id).first()
    if photo is None:
        return None
    old_crop = photo.face_crop.name if photo.face_crop else ""
    photo.model_version, photo.processed_at = version, timezone.now()
    if rejection is not None:
        photo.status = Status.REJECTED
        photo.rejection_code, photo.rejection_reason = rejection
        photo.embedding, photo.face_box, photo.face_crop = None, None, ""
        photo.backbone_embedding, photo.backbone_key = None, ""
        photo.embeddings.all().delete()
    else:
        photo.status, photo.rejection_code, photo.rejection_reason = Status.READY, "", ""
        photo.embedding = embedding_to_bytes(analyzed.embedding)
        photo.backbone_embedding = (
            None if analyzed.backbone is None else embedding_to_bytes(analyzed.backbone)
        )
        photo.backbone_key = "" if analyzed.backbone is None else backbone_key()
        photo.face_box = [int(v) for v in analyzed.face.box]
        photo.face_crop.save("crop.jpg", jpeg_file(analyzed.crop), save=False)
    photo.save()
    if analyzed is not None and analyzed.backbone is not None:
        face_models.photo_embeddings_write(photo=photo, backbone=analyzed.backbone)
    if old_crop:
        storage = photo.face_crop.storage
        transaction.on_commit(lambda: storage.delete(old_crop))
    calibrate_after_commit(photo.student_id)
    return photo


def jpeg_file(pixels, quality: int = 90) -> ContentFile:
    """An RGB array as an in-memory JPEG file, for crops."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return ContentFile(buffer.getvalue(), name="crop.jpg")


def photos_needing_embedding(*, model_version: str, pending_older_than: timedelta | None = None):
    """Ready photos with no embedding by ``model_version``, rejected photos judged by another
    version, and pending photos whose task may have been lost (older than
    ``pending_older_than``)."""
    stale = (
        Q(status=Status.READY) & ~Q(embeddings__model_version=model_version)
        | Q(status=Status.READY) & ~Q(model_version=model_version)
        | Q(status=Status.REJECTED) & ~Q(model_version=model_version)
    )
    if pending_older_than is not None:
        cutoff = timezone.now() - pending_older_than
        stale |= Q(status=Status.PENDING, created_at__lte=cutoff)
    return ReferencePhoto.objects.filter(stale).order_by("pk")


def photos_to_reembed(
    *,
    model_version: str,
    from_images: bool = False,
    pending_older_than: timedelta | None = None,
):
    """What ``reference_photos_reembed`` sends: ``photos_needing_embedding``, or with
    ``from_images`` every ready photo."""
    if from_images:
        return ReferencePhoto.objects.filter(status=Status.READY).order_by("pk")
    return photos_needing_embedding(
        model_version=model_version, pending_older_than=pending_older_than
    )


def reference_photos_reembed(
    *, pending_older_than: timedelta | None = None, from_images: bool = False
) -> int:
    """Enqueue every photo whose embedding is not from the serving model. Returns how many.

    Until a photo is re-embedded it is simply left out of matching: it is never compared with
    vectors of another model version.
    from_images: enqueue every ready photo instead, to be embedded again from its image
    (``reference_photo_process(from_image=True)``).
    """
    from attendance import tasks
    from attendance.services.face_models import serving_model

    photos = photos_to_reembed(
        model_version=serving_model().version,
        from_images=from_images,
        pending_older_than=pending_older_than,
    )
    ids = list(photos.values_list("pk", flat=True).distinct())
    for photo_id in ids:
        if not tasks.enqueue_reference_photo(photo_id, from_image=from_images):
            break  # the broker is down: the next sweep tries again
    return len(ids)
