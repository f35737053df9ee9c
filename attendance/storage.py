"""Storage for biometric files: like the file system storage, but with no URL at all.

Django falls back to MEDIA_URL when a storage has no base URL; this class refuses instead, so a
template that wrote ``{{ photo.image.url }}`` fails in development rather than leaking a path.
"""

from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    def url(self, name: str | None) -> str:
        raise ValueError(
            "Private files have no public URL; serve them through a view that checks permission."
        )
