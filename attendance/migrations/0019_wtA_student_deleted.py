import django.db.models.deletion
from django.db import migrations, models


def forget_candidates_without_consent(apps, schema_editor):
    """Lists written before erasure removed a withdrawn student from them: a student without
    consent (or deleted) leaves every face's candidates now."""
    Student = apps.get_model("attendance", "Student")
    DetectedFace = apps.get_model("attendance", "DetectedFace")
    allowed = set(
        Student.objects.filter(consent_given_at__isnull=False).values_list("pk", flat=True)
    )
    changed = []
    for face in DetectedFace.objects.exclude(candidates=[]).only("pk", "candidates").iterator():
        kept = [c for c in face.candidates or [] if c.get("student_id") in allowed]
        if kept != face.candidates:
            face.candidates = kept
            changed.append(face)
    DetectedFace.objects.bulk_update(changed, ["candidates"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("attendance", "0018_wtF_school_admin"),
    ]

    operations = [
        migrations.RunPython(forget_candidates_without_consent, migrations.RunPython.noop),
        migrations.AddField(
            model_name="student",
            name="deleted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Set when the student was deleted: only the name and number stay, for "
                "the attendance records the school keeps (services.students.student_delete).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="attendancerecord",
            name="student",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="records",
                to="attendance.student",
            ),
        ),
        migrations.AlterField(
            model_name="attendancechange",
            name="student",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="changes",
                to="attendance.student",
            ),
        ),
    ]
