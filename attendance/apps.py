from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = "Attendance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from attendance import checks  # noqa: F401 - registers the system checks
        from attendance.files import connect_file_cleanup

        connect_file_cleanup()

        from attendance.metrics import register

        register()
