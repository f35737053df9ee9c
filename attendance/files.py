"""Files go wherever their rows go.

Every model field that holds a private file (photos, crops) is listed by ``file_fields``; a
``post_delete`` receiver on each such model deletes the files once the transaction commits, so a
row deleted from a page, the API, the Django admin, a cascade or a management command takes its
files with it, and a rolled-back delete keeps them. (Django sends ``post_delete`` for cascaded
rows too: with a receiver connected it no longer "fast-deletes" them.) A ``queryset.update()``
that blanks a file field does not send it: the services that do that delete the file themselves
with ``delete_after_commit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.apps import apps
from django.core.files.storage import Storage, storages
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete
from django.utils import timezone


def file_fields() -> Iterator[tuple[type[models.Model], models.FileField]]:
    """Every (model, file field) of the attendance app."""
    for model in apps.get_app_config("attendance").get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                yield model, field


def delete_after_commit(files: Iterable[FieldFile]) -> None:
    """Delete these stored files once the current transaction commits (at once outside one)."""
    targets = [(f.storage, f.name) for f in files if f and f.name]
    if not targets:
        return

    def delete() -> None:
        for storage, name in targets:
            storage.delete(name)

    transaction.on_commit(delete)


def _delete_files_of(sender, instance: models.Model, **kwargs) -> None:
    delete_after_commit(
        getattr(instance, field.name) for model, field in file_fields() if model is sender
    )
    # A job's uploaded photos are listed in a JSON field rather than file fields: a job deleted
    # before it ran (its student or session deleted) takes them too, since they may be biometric.
    paths = [image["path"] for image in getattr(instance, "images", None) or []]
    if paths:
        storage = storages["private"]

        def delete() -> None:
            for path in paths:
                storage.delete(path)

        transaction.on_commit(delete)


def connect_file_cleanup() -> None:
    for model in {model for model, _ in file_fields()}:
        post_delete.connect(
            _delete_files_of, sender=model, dispatch_uid=f"files-of-{model._meta.label}"
        )


def referenced_names() -> set[str]:
    """The name of every file some row points to."""
    names: set[str] = set()
    for model, field in file_fields():
        names.update(
            model._default_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True)
        )
    job = apps.get_model("attendance", "Job")
    for images in job.objects.exclude(images=[]).values_list("images", flat=True):
        names.update(image["path"] for image in images)
    return names


def stored_names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file in ``storage`` below ``folder``, as storage names ("captures/2026/11/x.jpg")."""
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for sub in folders:
        yield from stored_names(storage, f"{folder}/{sub}" if folder else sub)


def orphan_files(*, min_age: timedelta = timedelta(hours=1)) -> list[str]:
    """Files of the private storage that no row points to, older than ``min_age`` (a file saved
    by a transaction that has not committed yet is not an orphan)."""
    storage = storages["private"]
    referenced = referenced_names()
    cutoff = timezone.now() - min_age
    return sorted(
        name
        for name in stored_names(storage)
        if name not in referenced and storage.get_modified_time(name) <= cutoff
    )
