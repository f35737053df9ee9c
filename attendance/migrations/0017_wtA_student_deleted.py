import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("attendance", "0016_webhooks"),
    ]

    operations = [
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
