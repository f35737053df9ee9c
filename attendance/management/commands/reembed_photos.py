"""Recompute reference embeddings made by another model version (after a model upgrade).

By default the photos are enqueued for the workers (the same happens by itself when a worker
starts and on every sweep); ``--now`` processes them in this process instead. ``--from-images``
embeds every ready photo again from its image, also those already embedded by the serving model:
after an upgrade that changes how reference photos are embedded (such as the mirror view), which
the version alone does not show.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Re-embed reference photos whose embedding is not from the current face model."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="Process here and now instead of enqueueing."
        )
        parser.add_argument(
            "--from-images",
            action="store_true",
            help="Embed every ready photo again from its image, current or not.",
        )

    def handle(self, *args, now: bool = False, from_images: bool = False, **options) -> None:
        from attendance.services import photos as photo_services
        from attendance.services.face_models import serving_model

        version = serving_model().version
        if not now:
            count = photo_services.reference_photos_reembed(from_images=from_images)
            self.stdout.write(f"{count} photo(s) enqueued for re-embedding with model {version}.")
            return
        stale = photo_services.photos_to_reembed(model_version=version, from_images=from_images)
        ids = list(stale.values_list("pk", flat=True).distinct())
        for photo_id in ids:
            photo = photo_services.reference_photo_process(
                photo_id=photo_id, from_image=from_images
            )
            state = photo.status if photo else "gone"
            self.stdout.write(f"photo #{photo_id}: {state}")
        self.stdout.write(f"{len(ids)} photo(s) re-embedded with model {version}.")
