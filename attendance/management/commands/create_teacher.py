"""Create a teacher (a non-staff user) and print their API token: no shell or admin page needed.

python manage.py create_teacher alice --email alice@school.edu --name "Alice Smith"
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from attendance.errors import DomainError


class Command(BaseCommand):
    help = "Create a teacher account and print its API token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help="Full name, e.g. 'Alice Smith'.")
        parser.add_argument(
            "--password", default=None, help="Optional: without it only the token works."
        )

    def handle(self, *args, username: str, email: str, name: str, password, **options) -> None:
        from attendance.services.teachers import teacher_create

        try:
            user, token = teacher_create(
                username=username, email=email, full_name=name, password=password
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"Teacher {user.username} created (id {user.pk}).")
        self.stdout.write(f"API token: {token}")
