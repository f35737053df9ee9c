"""The only way to read a biometric file: through a view that checks who is asking.

Reference photos and their crops are for admins (and the student's teachers may see the crop that
identifies them); class photos and face crops are for whoever may see the session.
"""

from __future__ import annotations

import mimetypes

from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.cache import cache_control

from attendance.selectors.access import (
    captures_visible_to,
    faces_visible_to,
    is_admin,
    photos_visible_to,
)


def _private_file(field: FieldFile) -> FileResponse:
    if not field:
        raise Http404("No file.")
    try:
        handle = field.storage.open(field.name, "rb")
    except FileNotFoundError:
        raise Http404("The file is gone.") from None
    content_type = mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@cache_control(private=True, max_age=300)
def reference_photo_file(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    photo = get_object_or_404(photos_visible_to(request.user), pk=pk)
    if kind == "image" and is_admin(request.user):
        return _private_file(photo.image)
    if kind == "crop":
        return _private_file(photo.face_crop)
    raise Http404("No such file.")


@login_required
@cache_control(private=True, max_age=300)
def capture_file(request: HttpRequest, pk: int) -> FileResponse:
    return _private_file(get_object_or_404(captures_visible_to(request.user), pk=pk).image)


@login_required
@cache_control(private=True, max_age=300)
def face_crop_file(request: HttpRequest, pk: int) -> FileResponse:
    return _private_file(get_object_or_404(faces_visible_to(request.user), pk=pk).crop)


urlpatterns = [
    path("files/photos/<int:pk>/<str:kind>/", reference_photo_file, name="reference_photo_file"),
    path("files/captures/<int:pk>/", capture_file, name="capture_file"),
    path("files/faces/<int:pk>/", face_crop_file, name="face_crop_file"),
]
