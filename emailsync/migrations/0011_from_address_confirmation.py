"""Add the confirmation time of From addresses.

Each mailbox's own address counts as confirmed, because connecting the
mailbox proved it. Aliases added before stay unconfirmed until their owner
opens a confirmation link. A mailbox whose default was such an alias gets
its own address back as the default, because an unconfirmed alias cannot be
the default.
"""

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def confirm_own_addresses(apps, schema_editor):
    FromAddress = apps.get_model("emailsync", "FromAddress")
    own = FromAddress.objects.filter(address_normalized=F("account__email_normalized"))
    own.update(confirmed_at=timezone.now())

    unconfirmed_defaults = FromAddress.objects.filter(is_default=True, confirmed_at__isnull=True)
    for account_id in list(unconfirmed_defaults.values_list("account_id", flat=True)):
        FromAddress.objects.filter(account_id=account_id).update(is_default=False)
        own.filter(account_id=account_id).update(is_default=True)


class Migration(migrations.Migration):

    dependencies = [
        ("emailsync", "0010_owner_duplicate_message_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="fromaddress",
            name="confirmed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="confirmed at"),
        ),
        migrations.RunPython(confirm_own_addresses, migrations.RunPython.noop),
    ]
