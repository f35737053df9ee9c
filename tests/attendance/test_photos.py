"""Reference photos: added one by one by an admin, checked and embedded by the task, never
mixed across model versions."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, ImageFilter

from attendance.models import ReferencePhoto, embedding_to_bytes
from attendance.selectors.captures import session_gallery
from attendance.services import photos as photo_services
from attendance.services import students as student_services
from tests.conftest import jpeg_bytes
from tests.support.faces import (
    add_photo,
    lfw_or_skip,
    lfw_photo,
    make_classroom,
    model_or_skip,
)

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def huge_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A valid 100-megapixel PNG that is small on disk (all black)."""
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width)  # filter byte + one grey byte per pixel
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


BAD_IMAGES = {
    "not_an_image": ("notes.jpg", b"these are my lecture notes, not a photo"),
    "truncated_image": ("cut.jpg", jpeg_bytes(400, 300)[:700]),
    "image_too_large": ("huge.png", None),
}


def bad_image(code: str) -> SimpleUploadedFile:
    name, data = BAD_IMAGES[code]
    return upload(name, huge_png() if data is None else data)


def test_admin_adds_a_photo_and_its_embedding_is_enqueued_after_commit(
    client, admin_user, student, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("attendance:photo_add", args=[student.pk]),
            {"photos": [upload("a.jpg", jpeg_bytes())]},
        )
    assert response.status_code == 302
    assert list(student.photos.values_list("status", flat=True)) == ["pending"]
    assert len(callbacks) == 1  # several photos at once are a job: tests/attendance/test_jobs.py


def test_a_photo_without_recorded_consent_is_refused_with_the_reason(client, admin_user):
    bea = student_services.student_create(student_number="S002", full_name="Bea Noconsent")
    client.force_login(admin_user)
    response = client.post(
        reverse("attendance:photo_add", args=[bea.pk]), {"photos": upload("a.jpg", jpeg_bytes())}
    )
    assert response.status_code == 409
    assert "no recorded photo consent" in response.content.decode()
    assert not bea.photos.exists()


@pytest.mark.parametrize("code", sorted(BAD_IMAGES))
def test_a_bad_file_gets_a_clear_400_and_keeps_the_photos_already_saved(
    client, admin_user, student, code
):
    kept = add_photo(student, lfw_photo("Colin_Powell", 1)) if lfw_or_skip() else None
    add_photo(student, lfw_photo("Colin_Powell", 2))
    client.force_login(admin_user)
    response = client.post(
        reverse("attendance:photo_add", args=[student.pk]), {"photos": [bad_image(code)]}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'data-code="{code}"' in page
    assert {"not_an_image": "not an image", "truncated_image": "incomplete or damaged",
            "image_too_large": "too large"}[code] in page  # fmt: skip
    # Nothing was added, and the earlier photos are untouched.
    assert student.photos.count() == 2
    assert ReferencePhoto.objects.get(pk=kept.pk).image.name == kept.image.name


def test_an_upload_without_a_file_says_so(client, admin_user, student):
    client.force_login(admin_user)
    response = client.post(reverse("attendance:photo_add", args=[student.pk]), {})
    assert response.status_code == 400
    assert "Choose a photo" in response.content.decode()


def test_a_teacher_cannot_add_photos(client, alice, student):
    client.force_login(alice)
    response = client.post(
        reverse("attendance:photo_add", args=[student.pk]),
        {"photos": upload("a.jpg", jpeg_bytes())},
    )
    assert response.status_code == 404
    assert not student.photos.exists()


# --- the embedding task's body, with the real face pipeline -----------------------------------


def process(photo: ReferencePhoto) -> ReferencePhoto:
    photo_services.reference_photo_process(photo_id=photo.pk)
    return ReferencePhoto.objects.get(pk=photo.pk)


def image_file(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def photo_from_bytes(student, data: bytes, name: str = "x.jpg") -> ReferencePhoto:
    return photo_services.reference_photo_add(
        student=student, image_file=upload(name, data), by=None
    )


def test_a_clear_photo_becomes_ready_with_its_crop_and_the_model_version(face_models, student):
    import facerec

    photo = process(add_photo(student, lfw_photo("Tony_Blair", 1)))
    assert photo.status == "ready"
    assert photo.model_version == facerec.model_version()
    assert photo.embedding_array.shape == (facerec.model_info().embedding_dim,)
    assert abs(float(np.linalg.norm(photo.embedding_array)) - 1.0) < 1e-3
    assert photo.face_crop and photo.face_box[2] > 60
    with Image.open(photo.face_crop.open("rb")) as crop:
        assert crop.size == (160, 160)


def test_processing_a_photo_twice_changes_nothing(face_models, student):
    photo = process(add_photo(student, lfw_photo("Tony_Blair", 2)))
    again = process(photo)
    assert again.face_crop.name == photo.face_crop.name
    assert again.processed_at == photo.processed_at


def test_a_group_photo_is_rejected_because_several_faces_show(face_models, student):
    group = (lfw_or_skip().parent / "group_photos" / "friends_multiface.jpg").read_bytes()
    photo = process(photo_from_bytes(student, group))
    assert (photo.status, photo.rejection_code) == ("rejected", "several_faces")
    assert "only the student" in photo.rejection_reason
    assert photo.embedding is None


def test_a_photo_without_a_face_is_rejected_with_the_reason(face_models, student):
    dogs = (lfw_or_skip().parent / "group_photos" / "no_faces_dogs.jpg").read_bytes()
    photo = process(photo_from_bytes(student, dogs))
    assert (photo.status, photo.rejection_code) == ("rejected", "no_face_found")
    assert "No face was found" in photo.rejection_reason


def test_a_far_away_face_is_rejected_as_too_small(face_models, student):
    pixels = np.asarray(Image.open(lfw_photo("Tony_Blair", 3)).resize((90, 90)))
    canvas = np.full((400, 400, 3), 200, np.uint8)
    canvas[150:240, 150:240] = pixels
    photo = process(photo_from_bytes(student, image_file(canvas)))
    assert (photo.status, photo.rejection_code) == ("rejected", "face_too_small")


def test_a_blurred_face_is_rejected_as_too_blurry(face_models, student):
    with Image.open(lfw_photo("Tony_Blair", 4)) as image:
        blurred = image.resize((500, 500)).filter(ImageFilter.GaussianBlur(6))
    photo = process(photo_from_bytes(student, image_file(np.asarray(blurred))))
    assert photo.status == "rejected"
    assert photo.rejection_code in {"face_too_blurry", "no_face_found"}


def test_the_student_page_shows_each_photo_state_and_the_crop_used(
    face_models, client, admin_user, student
):
    ready = process(add_photo(student, lfw_photo("Tony_Blair", 1)))
    dogs = (lfw_or_skip().parent / "group_photos" / "no_faces_dogs.jpg").read_bytes()
    rejected = process(photo_from_bytes(student, dogs))
    client.force_login(admin_user)
    page = client.get(reverse("attendance:student_detail", args=[student.pk])).content.decode()
    assert reverse("attendance:reference_photo_file", args=[ready.pk, "crop"]) in page
    assert f'data-photo="{rejected.pk}" data-status="rejected"' in page
    assert "No face was found" in page


# --- model versions -----------------------------------------------------------------------------


def test_matching_uses_only_photos_of_the_current_model_version(admin_user, alice):
    import facerec

    lfw_or_skip()
    model_or_skip()
    room = make_classroom(admin_user, alice, ["Tony_Blair", "Colin_Powell"], photos=(1,))
    current, old = ReferencePhoto.objects.order_by("pk")
    ReferencePhoto.objects.filter(pk__in=[current.pk, old.pk]).update(status="ready")
    # Embeddings are kept per model version: one photo has only an old version's.
    current.embeddings.create(
        model_version=facerec.model_version(), embedding=embedding_to_bytes([1.0, 0])
    )
    old.embeddings.create(model_version="old-model", embedding=embedding_to_bytes([0, 1.0]))
    gallery = session_gallery(session=room.session, model_version=facerec.model_version())
    assert gallery.labels == [current.student_id]


def test_reembed_command_enqueues_every_photo_of_another_model_version(
    admin_user, alice, django_capture_on_commit_callbacks, monkeypatch
):
    import facerec
    from attendance import tasks

    lfw_or_skip()
    model_or_skip()
    make_classroom(admin_user, alice, ["Tony_Blair", "Colin_Powell"], photos=(1,))
    first, second = ReferencePhoto.objects.order_by("pk")
    ReferencePhoto.objects.filter(pk=first.pk).update(status="ready", model_version="old-model")
    ReferencePhoto.objects.filter(pk=second.pk).update(
        status="ready", model_version=facerec.model_version()
    )
    second.embeddings.create(model_version=facerec.model_version(), embedding=b"\0" * 8)
    sent = []
    monkeypatch.setattr(
        tasks, "enqueue_reference_photo", lambda pk, **kwargs: sent.append(pk) or True
    )
    out = io.StringIO()
    call_command("reembed_photos", stdout=out)
    assert sent == [first.pk]
    assert "1 photo(s)" in out.getvalue()


def test_reembed_now_recomputes_an_old_version_photo_in_process(face_models, student):
    import facerec

    photo = process(add_photo(student, lfw_photo("Tony_Blair", 1)))
    ReferencePhoto.objects.filter(pk=photo.pk).update(model_version="old-model")
    call_command("reembed_photos", "--now", stdout=io.StringIO())
    photo.refresh_from_db()
    assert (photo.status, photo.model_version) == ("ready", facerec.model_version())


def test_reembed_from_images_gives_a_photo_embedded_before_the_mirror_view_its_mirror_view(
    face_models, student, monkeypatch
):
    """The version does not show how a reference was embedded: after the upgrade that added the
    mirror view, `--from-images` embeds current photos again from their images."""
    import facerec

    with monkeypatch.context() as before:
        before.setattr("facerec.model.uses_reference_mirror", lambda: False)
        photo = process(add_photo(student, lfw_photo("Tony_Blair", 1)))
    single_view = photo.embedding_array

    call_command("reembed_photos", "--now", stdout=io.StringIO())
    photo.refresh_from_db()
    assert np.array_equal(photo.embedding_array, single_view)  # current version: left alone

    call_command("reembed_photos", "--from-images", "--now", stdout=io.StringIO())
    photo.refresh_from_db()
    expected = facerec.embed_reference_photo(facerec.load_image(lfw_photo("Tony_Blair", 1)))
    assert photo.status == "ready"
    assert np.allclose(photo.embedding_array, expected.embedding, atol=1e-5)
    assert not np.allclose(photo.embedding_array, single_view, atol=1e-3)


def test_a_photo_embedded_by_the_facenet_model_is_reembedded_when_the_two_backbone_model_serves(
    face_models, student, monkeypatch
):
    """An upgrade of the serving model (here to the two-backbone candidate) re-embeds every stored
    photo with the new version."""
    import facerec
    from facerec.model import MODELS_DIR

    monkeypatch.delenv("ROLLCALL_FACE_MODEL", raising=False)  # FaceNet, whichever serves
    photo = process(add_photo(student, lfw_photo("Tony_Blair", 1)))
    assert photo.embedding_array.shape == (facerec.model_info().embedding_dim,) == (512,)

    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(MODELS_DIR / "facenet-dlib-siamese.json"))
    call_command("reembed_photos", "--now", stdout=io.StringIO())

    photo.refresh_from_db()
    assert photo.model_version == facerec.model_version()
    assert photo.model_version.startswith("facenet512-dlib128-")
    assert photo.embedding_array.shape == (640,)


def test_an_admin_deletes_a_photo_and_its_file_goes_after_commit(
    client, admin_user, alice, student, django_capture_on_commit_callbacks
):
    photo = add_photo(student, lfw_photo("Tony_Blair", 1))
    storage, name = photo.image.storage, photo.image.name
    client.force_login(alice)
    assert client.post(reverse("attendance:photo_delete", args=[photo.pk])).status_code == 404
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("attendance:photo_delete", args=[photo.pk]), {"confirm": "yes"}
        )
    assert response.status_code == 302
    assert not ReferencePhoto.objects.filter(pk=photo.pk).exists()
    assert not storage.exists(name)
