"""Storage for biometric files: never a public URL.

Two backends, chosen by settings (``ROLLCALL_STORAGE_URL``): files on a local disk (the default
of `make run`) or objects in a private S3-compatible bucket (MinIO, AWS S3), so web and worker
processes on different hosts share no volume. Either way pages read a file only through a view
that checks permission and streams it (attendance/views/files.py).
"""

from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage


class PrivateFileSystemStorage(FileSystemStorage):
    """Django falls back to MEDIA_URL when a storage has no base URL; this class refuses
    instead, so a template that wrote ``{{ photo.image.url }}`` fails in development rather
    than leaking a path."""

    def url(self, name: str | None) -> str:
        raise ValueError(
            "Private files have no public URL; serve them through a view that checks permission."
        )


class PrivateS3Storage(S3Storage):
    """A private bucket. Objects are written with no ACL (so they take the bucket's: private;
    AWS buckets with ACLs disabled refuse any other), never overwritten (a name taken gets a new
    suffix, as on disk), and ``url()`` is a presigned GET that expires after 60 seconds: the
    only kind of link to an object that exists."""

    # Class attributes, not settings: these are what "private" means, not per-site choices.
    default_acl = None
    querystring_auth = True
    querystring_expire = 60
    file_overwrite = False
    custom_domain = None
    signature_version = "s3v4"
