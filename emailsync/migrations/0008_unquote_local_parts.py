"""Normalise stored addresses whose local part was quoted without need.

crm.addresses.normalize_address now reads '"nominas"@example.com' as
'nominas@example.com'. Rows normalised before keep the quotes, so they
would no longer match records, exclusions or the mailbox's own addresses.
Only values containing a double quote can change.
"""

from django.db import IntegrityError, migrations, transaction

# (app label, model, stored normalised field, field it comes from or None).
# Only the models with a unique normalised address are in UNIQUE.
COLUMNS = [
    ("crm", "Lead", "email_normalized", "email"),
    ("crm", "Contact", "email_normalized", "email"),
    ("crm", "LeadEmail", "address_normalized", "address"),
    ("crm", "ContactEmail", "address_normalized", "address"),
    ("emailsync", "MailAccount", "email_normalized", "email_address"),
    ("emailsync", "FromAddress", "address_normalized", "address"),
    ("emailsync", "Participant", "address", None),
]
UNIQUE = {"LeadEmail", "ContactEmail", "FromAddress"}


def renormalize(apps, schema_editor):
    from crm.addresses import normalize_address

    for app_label, model_name, field, source in COLUMNS:
        model = apps.get_model(app_label, model_name)
        rows = model.objects.filter(**{f"{field}__contains": '"'}).values_list("pk", source or field)
        for pk, value in rows.iterator():
            normalized = normalize_address(value)
            if model_name not in UNIQUE:
                model.objects.filter(pk=pk).update(**{field: normalized})
                continue
            try:
                with transaction.atomic():
                    model.objects.filter(pk=pk).update(**{field: normalized})
            except IntegrityError:
                # The record or account already has the unquoted form of
                # this address: the quoted row is a duplicate.
                model.objects.filter(pk=pk).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0001_initial"),
        ("emailsync", "0007_fewer_indexes_for_sync"),
    ]

    operations = [
        migrations.RunPython(renormalize, migrations.RunPython.noop),
    ]
