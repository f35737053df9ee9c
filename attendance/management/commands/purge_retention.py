"""Run the retention purge now (beat runs it every ROLLCALL_RETENTION_CHECK_SECONDS)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from attendance.services.retention import retention_purge


class Command(BaseCommand):
    help = "Delete class photos and unknown faces' crops past ROLLCALL_RETENTION_DAYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, help="Override ROLLCALL_RETENTION_DAYS once.")

    def handle(self, *args, days: int | None, **options) -> None:
        result = retention_purge(days=days)
        self.stdout.write(
            f"Deleted {result.class_photos} class photo(s) and the crops of "
            f"{result.unknown_faces} unknown face(s) from {result.sessions} session(s)."
        )
