from django.db import migrations

# Give each stored message whose owner has an earlier message (lower pk) with
# the same Message-ID a key of its own: the key, a space and its pk, as
# emailsync.models.owner_duplicate_key() does for new messages. Until now
# the Emails list showed such messages as one row under "All". Plain SQL
# that PostgreSQL and SQLite share. The join on Message-ID reads the
# message_id index.
SEPARATE_OWNER_DUPLICATES = """
UPDATE emailsync_participant
SET message_key = SUBSTR(message_key, 1, 997 - LENGTH(CAST(message_id AS TEXT))) || ' ' || CAST(message_id AS TEXT)
WHERE message_key <> '' AND message_id IN (
    SELECT later.id FROM emailsync_message later
    WHERE later.message_id <> '' AND EXISTS (
        SELECT 1 FROM emailsync_message earlier
        WHERE earlier.message_id = later.message_id
          AND earlier.owner_id = later.owner_id
          AND earlier.id < later.id
    )
)
"""

# The reverse restores Message.key (as migration 0004 filled it) on the
# rows that carry a separated key.
RESTORE_MESSAGE_KEYS = """
UPDATE emailsync_participant SET message_key = (
    SELECT CASE WHEN m.message_id = '' THEN 'hash:' || m.content_hash ELSE m.message_id END
    FROM emailsync_message m WHERE m.id = emailsync_participant.message_id
)
WHERE message_key LIKE '% %'
"""


class Migration(migrations.Migration):

    dependencies = [
        ('emailsync', '0009_field_labels'),
    ]

    operations = [
        migrations.RunSQL(SEPARATE_OWNER_DUPLICATES, RESTORE_MESSAGE_KEYS),
    ]
