"""Schedule the daily cleanup policy run on django-q2."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    from retention.schedules import ensure_cleanup_schedule

    ensure_cleanup_schedule(apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):

    dependencies = [
        ("retention", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_schedule, migrations.RunPython.noop),
    ]
