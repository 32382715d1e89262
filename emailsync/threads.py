"""Conversation (thread) keys, assigned when a message is stored.

Message.thread_key names a conversation. The conversation view reads every
message with the same key through the thread_key index, so opening one
costs the same at a thousand or a million stored messages. Computing
threads at read time would need a search of the References text of every
message, which no index serves.

The key is the Message-ID of the conversation's first message, found this
way (Message-IDs are normalised at sync time):

1. References present: its first id, the root as the replier knew it
   (RFC 5322 section 3.6.4 builds References from the parent's References
   plus the parent's Message-ID).
2. Only In-Reply-To: the key of the stored parent, else the parent's id.
3. Neither header, and the subject has a reply or forward prefix (Re:,
   RV:, Fwd:, AW: ...): the key of the newest earlier message of the same
   owner with the same normalised subject and at least one shared
   participant besides the owner's own addresses.
4. Otherwise the message starts a conversation: its own Message.key (the
   Message-ID, or "hash:<content hash>" without one).

A reply stored before its parent gets the parent's id as key (rule 2);
when the parent arrives with a different key, `adopt_early_replies` moves
those replies to it.
"""

import re

from .models import Message, Participant

# Reply and forward prefixes of common mail clients in English, Spanish,
# Portuguese, German, French, Italian, Dutch and the Nordic languages, with
# the "[2]" or "(2)" counters some clients add.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|rv|res|enc|aw|wg|sv|vs|antw|tr|rif|r|doorst)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")

# Rows read when looking for the parent of a reply without threading headers.
FALLBACK_CANDIDATES = 200


def normalize_subject(subject):
    """Return the subject without reply/forward prefixes, case-folded, spaces collapsed."""
    subject = _PREFIX.sub("", subject or "")
    return _WHITESPACE.sub(" ", subject).strip().casefold()


def has_reply_prefix(subject):
    return bool(_PREFIX.match(subject or ""))


def header_thread_key(message):
    """Return the key that the headers alone give (rules 1, 2 without lookup, and 4)."""
    references = message.references.split() if message.references else []
    if references:
        return references[0]
    if message.in_reply_to:
        return message.in_reply_to
    return own_key(message)


def own_key(message):
    return message.key


def assign_thread_keys(entries, own_addresses):
    """Set thread_key on unsaved messages before they are stored.

    `entries` are (Message, [Participant]) pairs of one owner. Runs one
    query for the parents named by In-Reply-To, and one per reply that
    lacks threading headers.
    """
    parents = _stored_parent_keys(message for message, _participants in entries)
    for message, participants in entries:
        if message.references:
            message.thread_key = header_thread_key(message)
        elif message.in_reply_to:
            message.thread_key = parents.get(message.in_reply_to, message.in_reply_to)
        elif has_reply_prefix(message.subject):
            message.thread_key = _subject_match_key(message, participants, own_addresses) or own_key(message)
        else:
            message.thread_key = own_key(message)
        message.thread_key = message.thread_key[:998]


def _stored_parent_keys(messages):
    wanted = {message.in_reply_to for message in messages if message.in_reply_to and not message.references}
    if not wanted:
        return {}
    rows = Message.objects.filter(message_id__in=wanted).exclude(thread_key="").values_list("message_id", "thread_key")
    return dict(rows)


def _subject_match_key(message, participants, own_addresses):
    """Return the key of an earlier message with the same subject and a shared participant (rule 3)."""
    addresses = {item.address for item in participants} - set(own_addresses)
    subject = normalize_subject(message.subject)
    if not addresses or not subject:
        return None
    candidates = (
        Participant.objects.filter(address__in=addresses, owner_id=message.owner_id, sort_date__lte=message.sort_date)
        .order_by("-sort_date").values_list("message__subject", "message__thread_key")[:FALLBACK_CANDIDATES]
    )
    for candidate_subject, key in candidates:
        if key and normalize_subject(candidate_subject) == subject:
            return key
    return None


def adopt_early_replies(messages):
    """Move replies stored before their parent to the parent's key (two queries at most)."""
    new_keys = {
        message.message_id: message.thread_key
        for message in messages
        if message.message_id and message.thread_key and message.thread_key != message.message_id
    }
    if not new_keys:
        return 0
    moved = 0
    waiting = Message.objects.filter(thread_key__in=list(new_keys)).values_list("pk", "thread_key")
    by_key = {}
    for pk, key in waiting:
        by_key.setdefault(key, []).append(pk)
    for old_key, pks in by_key.items():
        moved += Message.objects.filter(pk__in=pks).update(thread_key=new_keys[old_key])
    return moved
