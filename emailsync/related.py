"""The "Emails" related list of a Lead or Contact.

The list has a picklist: "All", or one mailbox owner among those whose
mailbox the viewer may see, each with its count. "All" combines the IMAP
mailboxes only. A POP3 mailbox contains just its inbox, with no sent mail,
so its messages are listed under their owner alone.

Under "All" the same message held in several mailboxes (a colleague was in
Cc) is one row that names every owner. Rows group by Participant.message_key:
stored messages of different owners are the same message when their
normalised Message-IDs are equal, and a message without a Message-ID is the
same only as another with identical bytes (the SHA-256 content hash). Two
stored messages of one owner are never one row, because storage gives the
later of two with the same Message-ID a key of its own (see
emailsync.models.owner_duplicate_key). So with a single mailbox, "All" and
that owner count the same. One owner's list shows each stored message.

Every query goes through emailsync.sharing, and the number of queries is
the same whatever the number of messages.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Case, CharField, Count, F, Max, Q, Value, When
from django.db.models.functions import Cast, Concat
from django.utils.functional import cached_property

from .models import Message, Participant, RawMessage
from .parsing import ensure_body_parsed
from .sharing import annotate_content_visibility, mailbox_access, participants_involving, record_messages

ALL_OWNERS = "all"
# Grouping key of a participant whose message_key is missing: the message
# stays a group of its own.
MISSING_KEY_PREFIX = "id:"

# Message fields a list never loads: bodies and headers can be large.
LIST_DEFERRED_FIELDS = ("text_body", "html_body", "references", "attachments", "parse_problems", "in_reply_to")


@dataclass
class EmailRow:
    """One row of the list: the copy shown, and every owner holding the message."""

    message: Message
    owners: list


@dataclass
class OwnerChoice:
    value: str
    owner: object  # a user, or None for "All"
    count: int
    is_selected: bool = False


@dataclass
class EmailList:
    choices: list
    selected: str
    page: object
    query: str = ""
    # Owners with POP3 mailboxes, listed under their own names only.
    pop3_owners: list = field(default_factory=list)

    @property
    def total(self):
        return self.page.paginator.count


class CountedPaginator(Paginator):
    """A Paginator given the count, because the picklist already computed it."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self):
        return self._known_count


def build_email_list(record, user, selected=None, query="", page_number=1, page_size=25):
    """Return the EmailList of `record` for `user`, who must be allowed to see the record.

    `selected` is "all" or an owner's id as text; anything the viewer may
    not pick falls back to the default, so a guessed id reveals nothing.
    Counts, grouping and the page order come from participant rows alone.
    Only the page's own messages are read from the message table.
    """
    access = mailbox_access(user)
    participants = participants_involving(record.normalized_addresses(), access)
    if participants is None:
        participants = Participant.objects.none()
    if query:
        participants = participants.filter(search_filter(query, access, prefix="message__"))

    counts = dict(participants.order_by().values_list("owner_id").annotate(total=Count("message_id", distinct=True)))
    imap_owner_ids = [pk for pk in access.owner_ids if access.grants[pk].is_imap]
    has_all = not counts or any(pk in imap_owner_ids for pk in counts)
    in_all = participants.filter(owner_id__in=imap_owner_ids)
    all_count = grouped_keys(in_all).count() if has_all else 0

    selected = choose_owner(selected, counts, has_all, access.viewer_id)
    choices = owner_choices(counts, has_all, all_count, selected)
    if selected == ALL_OWNERS:
        page = CountedPaginator(grouped_keys(in_all), page_size, all_count).get_page(page_number)
        page.object_list = rows_for_keys(page.object_list, in_all, user, access)
    else:
        owner_id = int(selected)
        newest = (
            participants.filter(owner_id=owner_id).values("message_id")
            .annotate(latest=Max("sort_date")).order_by("-latest", "-message_id")
        )
        page = CountedPaginator(newest, page_size, counts.get(owner_id, 0)).get_page(page_number)
        page.object_list = rows_for_ids(page.object_list, user, access)

    parse_missing_bodies([row.message for row in page.object_list])
    pop3_owners = [choice.owner for choice in choices if choice.owner and not access.grants[choice.owner.pk].is_imap]
    return EmailList(choices=choices, selected=selected, page=page, query=query, pop3_owners=pop3_owners)


def parse_missing_bodies(messages):
    """Parse the bodies of listed messages that sync stored with headers only.

    The rows need the snippet and the attachment marker. Runs one query for
    the raw bytes of the whole page, and only for rows never parsed before.
    """
    pending = [message for message in messages if not message.is_body_parsed]
    if not pending:
        return
    raws = dict(RawMessage.objects.filter(message_id__in=[message.pk for message in pending]).values_list("message_id", "data"))
    for message in pending:
        if message.pk in raws:
            ensure_body_parsed(message, bytes(raws[message.pk]))


def search_filter(query, access, prefix=""):
    """Return a Q matching every word of `query`; `prefix` reaches Message fields from another model.

    Headers shown to everyone (subject, From, To, Cc) are searched in every
    message. The body and snippet are searched only where the viewer may
    read the content, so a search never reveals words of a hidden body.
    """
    condition = Q()
    content_owners = access.content_owner_ids()
    for word in (query or "").split():
        headers = Q()
        for name in ("subject", "from_display", "to_display", "cc_display"):
            headers |= Q(**{f"{prefix}{name}__icontains": word})
        content = Q()
        for name in ("snippet", "text_body", "html_body"):
            content |= Q(**{f"{prefix}{name}__icontains": word})
        condition &= headers | (Q(**{f"{prefix}owner_id__in": content_owners}) & content)
    return condition


def group_key():
    """Return the SQL form of Participant.message_key, with the message id where a key is missing."""
    return Case(
        When(message_key="", then=Concat(Value(MISSING_KEY_PREFIX), Cast("message_id", CharField()))),
        default=F("message_key"),
        output_field=CharField(),
    )


def grouped_keys(participants):
    """Return one row per distinct message key, newest first: {"key", "latest", "newest"}."""
    return (
        participants.order_by().annotate(key=group_key()).values("key")
        .annotate(latest=Max("sort_date"), newest=Max("message_id"))
        .order_by("-latest", "-newest")
    )


def rows_for_keys(groups, participants, user, access):
    """Turn a page of grouped keys into EmailRows, in the page's order (two queries)."""
    keys = [group["key"] for group in groups]
    missing = [int(key[len(MISSING_KEY_PREFIX):]) for key in keys if key.startswith(MISSING_KEY_PREFIX)]
    present = [key for key in keys if not key.startswith(MISSING_KEY_PREFIX)]
    key_of = dict(
        participants.filter(Q(message_key__in=present) | Q(message_key="", message_id__in=missing))
        .annotate(key=group_key()).values_list("message_id", "key").distinct()
    )
    by_key = {}
    for message in page_messages(list(key_of), user, access):
        by_key.setdefault(key_of[message.pk], []).append(message)
    return [shown_row(by_key[key], access.viewer_id) for key in keys if key in by_key]


def rows_for_ids(items, user, access):
    """Turn a page of {"message_id"} rows into EmailRows, in the page's order (one query)."""
    ids = [item["message_id"] for item in items]
    messages = {message.pk: message for message in page_messages(ids, user, access)}
    return [EmailRow(message=messages[pk], owners=[messages[pk].owner]) for pk in ids if pk in messages]


def page_messages(ids, user, access):
    """Return the listed messages by id, with their owner and without bodies."""
    messages = Message.objects.filter(pk__in=ids).select_related("owner").defer(*LIST_DEFERRED_FIELDS)
    return list(annotate_content_visibility(messages, user, access).order_by("-sort_date", "-pk"))


def shown_row(copies, viewer_id):
    """Pick the copy a row shows: the viewer's own, else one with readable content, else the newest."""
    def preference(message):
        return (message.owner_id != viewer_id, not message.is_content_visible)

    shown = sorted(copies, key=preference)[0]
    owners = []
    for message in copies:
        if message.owner not in owners:
            owners.append(message.owner)
    owners.sort(key=lambda owner: (owner.pk != viewer_id, owner.get_full_name() or owner.get_username()))
    return EmailRow(message=shown, owners=owners)


def choose_owner(requested, counts, has_all, viewer_id):
    """Return the picklist value in force: the request when allowed, else the default."""
    if requested == ALL_OWNERS and has_all:
        return ALL_OWNERS
    if requested and requested.isdigit() and int(requested) in counts:
        return requested
    if has_all:
        return ALL_OWNERS
    if viewer_id in counts:
        return str(viewer_id)
    return str(min(counts))


def owner_choices(counts, has_all, all_count, selected):
    """Return the picklist: "All" when offered, then each owner with messages, by name."""
    users = get_user_model().objects.in_bulk(list(counts))
    choices = [OwnerChoice(str(pk), users[pk], count) for pk, count in counts.items()]
    choices.sort(key=lambda choice: (choice.owner.get_full_name() or choice.owner.get_username()).casefold())
    if has_all:
        choices.insert(0, OwnerChoice(ALL_OWNERS, None, all_count))
    for choice in choices:
        choice.is_selected = choice.value == selected
    return choices


def messages_for_record(record, viewer):
    """Return every message `viewer` may see that involves `record`, newest first, without grouping."""
    return record_messages(record, viewer).select_related("owner").order_by("-sort_date", "-pk")
