"""Store fetched messages as rows: one transaction per batch.

Identity within an account is the SHA-256 of the raw bytes: the same bytes
found in a second folder (INBOX and Sent, two Gmail labels) get a second
location, not a second message. Two different messages that share a
Message-ID are both kept. A message sent from the CRM is also recognised
by its Message-ID when the server's copy of it differs in bytes (some
servers add headers to what they store in Sent).
"""

import hashlib
import logging
from dataclasses import dataclass, field
from functools import cached_property, partial
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from crm.addresses import normalize_address

from . import parsing, threads
from .imap import stored_flags
from .models import (
    Folder, Message, MessageLocation, Participant, RawMessage, SyncFailure, message_key, owner_duplicate_key,
)

logger = logging.getLogger(__name__)

_IGNORE = OnConflict.IGNORE


@dataclass
class FetchedMessage:
    """One message as the server returned it."""

    uid: int
    raw: bytes
    internal_date: datetime | None = None
    flags: list = field(default_factory=list)
    modseq: int | None = None
    gm_msgid: int | None = None

    @cached_property
    def content_hash(self):
        return hashlib.sha256(self.raw).hexdigest()


@dataclass
class BatchResult:
    created: int = 0
    linked: int = 0
    failed: int = 0


def content_hash(raw):
    return hashlib.sha256(raw).hexdigest()


def message_values(account, folder, fetched, own_addresses, origin=Message.Origin.SYNC):
    """Return the field values of a Message for fetched bytes, and its
    participants as (role, address, display name) triples.

    A message of origin CRM was sent by the account's owner from the CRM,
    so it is outgoing regardless of its headers, and `folder` may be None.
    """
    headers = parsing.parse_headers(fetched.raw)
    sender = headers.sender[0] if headers.sender else None
    is_sent = (
        origin == Message.Origin.CRM
        or folder.role == Folder.Role.SENT
        or (sender is not None and sender.address in own_addresses)
    )
    internal_date = fetched.internal_date
    if internal_date is not None and timezone.is_naive(internal_date):
        internal_date = timezone.make_aware(internal_date, timezone.get_default_timezone())
    sort_date = headers.date or internal_date or timezone.now()

    values = {
        "account_id": account.pk,
        "owner_id": account.owner_id,
        "origin": origin,
        "direction": Message.Direction.SENT if is_sent else Message.Direction.RECEIVED,
        "content_hash": fetched.content_hash,
        "size": len(fetched.raw),
        "gm_msgid": fetched.gm_msgid,
        "message_id": headers.message_id,
        "in_reply_to": headers.in_reply_to,
        "references": " ".join(headers.references)[:100000],
        "subject": headers.subject,
        "sent_at": headers.date,
        "internal_date": internal_date,
        "sort_date": sort_date,
        "from_address": sender.address if sender else "",
        "from_display": ", ".join(item.display() for item in headers.sender),
        "to_display": ", ".join(item.display() for item in headers.to),
        "cc_display": ", ".join(item.display() for item in headers.cc),
        "parse_problems": sorted(headers.problems),
    }

    roles = [
        (Participant.Role.FROM, headers.sender),
        (Participant.Role.TO, headers.to),
        (Participant.Role.CC, headers.cc),
    ]
    # R7: Bcc counts only on mail the owner sent; on received mail a Bcc
    # header is rare and says nothing about who the mail involves.
    if is_sent:
        roles.append((Participant.Role.BCC, headers.bcc))
    participants = [(role, item.address, item.display_name) for role, items in roles for item in items]
    return values, participants


def build_message(account, folder, fetched, own_addresses):
    """Return an unsaved Message and its unsaved Participant rows."""
    values, participants = message_values(account, folder, fetched, own_addresses)
    message = Message(**values)
    rows = [
        Participant(
            role=role, address=address, display_name=name,
            owner_id=values["owner_id"], sort_date=values["sort_date"], message_key=message.key,
        )
        for role, address, name in participants
    ]
    return message, rows


def store_batch(account, folder, uidvalidity, batch, own_addresses, checkpoint_uid=None):
    """Store a batch in one transaction and advance the folder's checkpoint.

    `checkpoint_uid`, when given, becomes the folder's highest_synced_uid in
    the same transaction, so a crash either keeps the whole batch and its
    checkpoint or neither. Messages that cannot be stored are recorded as
    SyncFailure rows instead of aborting the batch.
    """
    try:
        with transaction.atomic():
            result = _store(account, folder, uidvalidity, batch, own_addresses)
            _advance_checkpoint(folder, checkpoint_uid)
            return result
    except (DatabaseError, ValueError) as exc:
        logger.warning(
            "Batch store failed, retrying one by one: account=%s folder=%s error=%s",
            account.pk, folder.pk, type(exc).__name__,
        )

    result = BatchResult()
    with transaction.atomic():
        for fetched in batch:
            try:
                with transaction.atomic():
                    single = _store(account, folder, uidvalidity, [fetched], own_addresses)
                result.created += single.created
                result.linked += single.linked
            except (DatabaseError, ValueError) as exc:
                record_failure(account, folder, uidvalidity, fetched.uid, "store_failed", exc)
                result.failed += 1
        _advance_checkpoint(folder, checkpoint_uid)
    return result


def _advance_checkpoint(folder, checkpoint_uid):
    if checkpoint_uid is not None and checkpoint_uid > folder.highest_synced_uid:
        folder.highest_synced_uid = checkpoint_uid
        Folder.objects.filter(pk=folder.pk).update(highest_synced_uid=checkpoint_uid)


def _store(account, folder, uidvalidity, batch, own_addresses):
    result = BatchResult()
    hashes = {fetched.content_hash for fetched in batch}
    known = dict(
        Message.objects.filter(account=account, content_hash__in=hashes).values_list("content_hash", "pk")
    )

    new_messages = {}
    for fetched in batch:
        digest = fetched.content_hash
        if digest in known or digest in new_messages:
            continue
        new_messages[digest] = (fetched, *message_values(account, folder, fetched, own_addresses))

    _link_crm_copies(account, new_messages, known)

    if new_messages:
        known.update(_insert_messages(account, new_messages, own_addresses))
        result.created = len(new_messages)

    now = timezone.now()
    fast_insert(MessageLocation, [
        {
            "message_id": known[fetched.content_hash], "folder_id": folder.pk, "uidvalidity": uidvalidity,
            "uid": fetched.uid, "flags": stored_flags(fetched.flags), "modseq": fetched.modseq,
        }
        for fetched in batch
    ], ignore_conflicts=True)
    result.linked = len(batch) - result.created

    SyncFailure.objects.filter(
        folder=folder, uidvalidity=uidvalidity, uid__in=[fetched.uid for fetched in batch],
        resolved_at__isnull=True,
    ).update(resolved_at=now)
    return result


def _insert_messages(account, new_messages, own_addresses):
    """Insert new messages with their raw bytes and participants.

    Returns {content hash: message pk}. Rows go in with one executemany per
    table: the ORM's bulk_create spends more time building model instances
    and SQL than the database spends storing them.
    """
    threads.assign_thread_keys(
        [(values, participants) for _fetched, values, participants in new_messages.values()], own_addresses,
    )
    owner_message_ids = _stored_message_ids(account, new_messages)
    fast_insert(Message, [values for _fetched, values, _participants in new_messages.values()])
    threads.adopt_early_replies([values for _fetched, values, _participants in new_messages.values()])
    ids = dict(
        Message.objects.filter(account=account, content_hash__in=list(new_messages)).values_list("content_hash", "pk")
    )
    fast_insert(RawMessage, [
        {"message_id": ids[digest], "data": fetched.raw} for digest, (fetched, _v, _p) in new_messages.items()
    ])
    keys = _participant_keys(new_messages, ids, owner_message_ids)
    fast_insert(Participant, [
        {
            "message_id": ids[digest], "role": role, "address": address, "display_name": name,
            "owner_id": values["owner_id"], "sort_date": values["sort_date"], "message_key": keys[digest],
        }
        for digest, (_fetched, values, participants) in new_messages.items()
        for role, address, name in participants
    ])
    return ids


def _stored_message_ids(account, new_messages):
    """Return the Message-IDs among `new_messages` that the account's owner already has (one query)."""
    message_ids = {values["message_id"] for _fetched, values, _p in new_messages.values() if values["message_id"]}
    if not message_ids:
        return set()
    stored = Message.objects.filter(owner_id=account.owner_id, message_id__in=message_ids)
    return set(stored.values_list("message_id", flat=True))


def _participant_keys(new_messages, ids, owner_message_ids):
    """Return {content hash: Participant.message_key} for messages just inserted.

    A message whose Message-ID the owner already has, stored before or
    earlier in this batch, gets owner_duplicate_key(). Keys without a
    Message-ID are content hashes, which are unique within the account.
    """
    seen_message_ids = set(owner_message_ids)
    keys = {}
    for digest in sorted(new_messages, key=ids.get):
        values = new_messages[digest][1]
        key = message_key(values["message_id"], values["content_hash"])
        if values["message_id"] in seen_message_ids:
            key = owner_duplicate_key(key, ids[digest])
        elif values["message_id"]:
            seen_message_ids.add(values["message_id"])
        keys[digest] = key
    return keys


def fast_insert(model, rows, ignore_conflicts=False):
    """Insert dicts of field values (attnames) in as few statements as possible.

    Fields missing from a row get their model default, computed once per
    call. Values are adapted the way the ORM would for this database
    (dates, JSON, binary). PostgreSQL gets COPY unless conflicts are to be
    ignored; otherwise rows go in multi-row INSERTs.
    """
    if not rows:
        return
    # The auto-increment key is left to the database; a key given in the
    # rows (RawMessage's message_id) is inserted like any field.
    fields = [
        field for field in model._meta.concrete_fields
        if not (field.primary_key and field.attname not in rows[0])
    ]
    ops = connection.ops
    plan = [(field.attname, _converter(field, ops), _default(field, ops)) for field in fields]
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    on_conflict = _IGNORE if ignore_conflicts else None
    prefix = f"{ops.insert_statement(on_conflict=on_conflict)} {table} ({columns}) VALUES "
    suffix = ops.on_conflict_suffix_sql(fields, on_conflict, None, None) if on_conflict else ""

    values = []
    for row in rows:
        for name, convert, default in plan:
            value = row.get(name, _MISSING)
            if value is _MISSING:
                values.append(default)
            elif convert is None:
                values.append(value)
            else:
                values.append(convert(value))

    width = len(fields)
    if connection.vendor == "postgresql" and not ignore_conflicts:
        _copy_rows(table, columns, values, width)
        return

    # One multi-row INSERT per chunk: executemany costs a round trip per
    # row on PostgreSQL.
    per_statement = max(1, min(len(rows), _MAX_PARAMETERS // width))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            count = min(per_statement, len(rows) - start)
            sql = prefix + ", ".join([f"({placeholders})"] * count)
            if suffix:
                sql = f"{sql} {suffix}"
            cursor.execute(sql, values[start * width:(start + count) * width])


def _copy_rows(table, columns, values, width):
    """Stream rows to PostgreSQL with COPY.

    A multi-row INSERT of a batch contains thousands of placeholders, and
    psycopg parses such a long query on every call (it caches only short
    ones): that parsing cost more than the database's own work.
    """
    sql = f"COPY {table} ({columns}) FROM STDIN"
    rows = [values[start:start + width] for start in range(0, len(values), width)]
    with connection.cursor() as cursor:

        def copy_rows(sql, rows, many, context):
            with connection.wrap_database_errors, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

        # COPY bypasses cursor.execute; the connection's execute wrappers
        # (query tracing, fault injection in tests) still see it, as an
        # executemany of these rows.
        run = copy_rows
        for wrapper in reversed(connection.execute_wrappers):
            run = partial(wrapper, run)
        run(sql, rows, True, {"connection": connection, "cursor": cursor})


_MISSING = object()
# Bound parameters per statement, well below SQLite's 32,766 (since 3.32)
# and PostgreSQL's 65,535.
_MAX_PARAMETERS = 10_000


def _converter(field, ops):
    """Return a function adapting a value of field for the database, or None
    when the driver takes the Python value as it is."""
    # `connection` is a proxy that looks up the thread's connection on every
    # attribute access; the real connection is resolved once here.
    real_connection = ops.connection
    if isinstance(field, models.DateTimeField):
        if real_connection.vendor == "sqlite" and settings.USE_TZ:
            # What DatabaseOperations.adapt_datetimefield_value returns on
            # SQLite (naive text in the connection's time zone), without its
            # per-call settings lookups.
            zone = real_connection.timezone
            return lambda value: None if value is None else str(value.astimezone(zone).replace(tzinfo=None))
        return lambda value: ops.adapt_datetimefield_value(value) if value is not None else None
    if isinstance(field, (models.JSONField, models.BinaryField)):
        return lambda value: field.get_db_prep_save(value, real_connection)
    return None


def _default(field, ops):
    """Return the database value for a field left out of a row."""
    if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
        return ops.adapt_datetimefield_value(timezone.now())
    if field.has_default():
        convert = _converter(field, ops)
        value = field.get_default()
        return convert(value) if convert else value
    if field.null:
        return None
    return field.get_default()


def _link_crm_copies(account, new_messages, known):
    """Treat the server's copy of a CRM-sent message as that message.

    Matches on Message-ID among messages this account sent from the CRM;
    the CRM wrote that Message-ID itself, so it is unique to the message.
    """
    candidates = {
        values["message_id"]: digest
        for digest, (_fetched, values, _p) in new_messages.items()
        if values["message_id"]
    }
    if not candidates:
        return
    sent_from_crm = Message.objects.filter(
        account=account, origin=Message.Origin.CRM, message_id__in=list(candidates),
    ).values_list("message_id", "pk")
    for message_id, pk in sent_from_crm:
        digest = candidates[message_id]
        new_messages.pop(digest, None)
        known[digest] = pk


def store_sent_message(account, raw, bcc=()):
    """Store bytes the CRM just sent through `account` as its outgoing message.

    The bytes carry no Bcc header (the other recipients must not see it),
    so the Bcc recipients come as (display name, address) pairs in `bcc`.
    The message gets its conversation key like a synced one. A sync
    running at the same moment may already have stored the server's own
    copy, because some providers file every relayed message in Sent. A
    copy with the same bytes becomes this message. A copy with other bytes
    but this Message-ID hands its locations over and is deleted. Returns
    the Message. Everything happens in one transaction.
    """
    own_addresses = account.own_addresses()
    fetched = FetchedMessage(uid=0, raw=raw)
    values, participants = message_values(account, None, fetched, own_addresses, origin=Message.Origin.CRM)
    bcc_participants = [
        (Participant.Role.BCC, normalize_address(address)[:320], name[:300]) for name, address in bcc
    ]

    with transaction.atomic():
        same_bytes = Message.objects.select_for_update().filter(
            account=account, content_hash=fetched.content_hash,
        ).first()
        if same_bytes is not None:
            return _adopt_server_copy(same_bytes, bcc_participants)

        threads.assign_thread_keys([(values, participants + bcc_participants)], own_addresses)
        message = Message.objects.create(**values)
        RawMessage.objects.create(message=message, data=raw)
        Participant.objects.bulk_create(_participant_rows(message, participants + bcc_participants))

        copies = Message.objects.filter(
            account=account, origin=Message.Origin.SYNC, message_id=message.message_id,
        ).exclude(pk=message.pk)
        if message.message_id and copies.exists():
            MessageLocation.objects.filter(message__in=copies).update(message=message)
            copies.delete()
    return message


def _participant_rows(message, participants, key=None):
    return [
        Participant(
            message=message, role=role, address=address, display_name=name,
            owner_id=message.owner_id, sort_date=message.sort_date, message_key=key or message.key,
        )
        for role, address, name in participants
    ]


def _adopt_server_copy(message, bcc_participants):
    """Make a synced message with the sent bytes the CRM's own record of them."""
    Message.objects.filter(pk=message.pk).update(origin=Message.Origin.CRM, direction=Message.Direction.SENT)
    # The Bcc rows take the key sync gave the message, which may be an owner_duplicate_key().
    stored_key = Participant.objects.filter(message=message).values_list("message_key", flat=True).first()
    Participant.objects.bulk_create(_participant_rows(message, bcc_participants, key=stored_key))
    message.origin = Message.Origin.CRM
    message.direction = Message.Direction.SENT
    return message


def link_locations(folder, uidvalidity, known):
    """Add locations for messages recognised without download.

    `known` is {uid: (message pk, flags)}.
    """
    if not known:
        return
    MessageLocation.objects.bulk_create(
        [
            MessageLocation(message_id=pk, folder=folder, uidvalidity=uidvalidity, uid=uid, flags=stored_flags(flags))
            for uid, (pk, flags) in known.items()
        ],
        ignore_conflicts=True,
    )


def record_failure(account, folder, uidvalidity, uid, reason_code, exc):
    """Record (or count again) a message that could not be stored."""
    detail = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    failure, created = SyncFailure.objects.get_or_create(
        folder=folder, uidvalidity=uidvalidity, uid=uid,
        defaults={"account": account, "reason_code": reason_code, "detail": detail},
    )
    if not created:
        failure.attempts += 1
        failure.reason_code = reason_code
        failure.detail = detail
        failure.resolved_at = None
    # Retry after 10 minutes, doubling up to a day.
    delay_minutes = min(10 * 2 ** (failure.attempts - 1), 24 * 60)
    failure.next_retry_at = now + timedelta(minutes=delay_minutes)
    failure.save()
    logger.error(
        "Message not stored: account=%s folder=%s uid=%s reason=%s attempts=%s",
        account.pk, folder.pk, uid, reason_code, failure.attempts,
    )


