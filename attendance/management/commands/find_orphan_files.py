"""List (and with --delete remove) private files that no row points to: photos and crops left
behind by a crash, a restore from backup or code that predates attendance.files."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.storage import storages
from django.core.management.base import BaseCommand

from attendance.files import orphan_files


class Command(BaseCommand):
    help = "Find private media files with no row; dry run unless --delete."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--delete", action="store_true", help="Remove the orphans found.")
        parser.add_argument(
            "--min-age-minutes",
            type=int,
            default=60,
            help="Skip files younger than this (an upload may not be committed yet).",
        )

    def handle(self, *args, delete: bool, min_age_minutes: int, **options) -> None:
        orphans = orphan_files(min_age=timedelta(minutes=min_age_minutes))
        storage = storages["private"]
        for name in orphans:
            if delete:
                storage.delete(name)
            self.stdout.write(f"{'deleted' if delete else 'orphan'}: {name}")
        verb = "Deleted" if delete else "Found"
        hint = "" if delete or not orphans else " (dry run: add --delete to remove them)"
        self.stdout.write(f"{verb} {len(orphans)} orphan file(s){hint}.")
