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

from .models import Message, Participant, message_key

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


def header_thread_key(values):
    """Return the key that the headers alone give (rules 1, 2 without lookup, and 4)."""
    references = values["references"].split() if values["references"] else []
    if references:
        return references[0]
    if values["in_reply_to"]:
        return values["in_reply_to"]
    return own_key(values)


def own_key(values):
    return message_key(values["message_id"], values["content_hash"])


def assign_thread_keys(entries, own_addresses):
    """Set "thread_key" in the field values of messages about to be stored.

    `entries` are (values, participants) pairs: a dict of Message field
    values and (role, address, display name) tuples, as
    emailsync.storage.message_values returns them. Runs one query for the
    parents named by In-Reply-To, and one per reply that lacks threading
    headers.
    """
    parents = _stored_parent_keys(values for values, _participants in entries)
    for values, participants in entries:
        if values["references"]:
            key = header_thread_key(values)
        elif values["in_reply_to"]:
            key = parents.get(values["in_reply_to"], values["in_reply_to"])
        elif has_reply_prefix(values["subject"]):
            addresses = {address for _role, address, _name in participants}
            key = _subject_match_key(values, addresses, own_addresses) or own_key(values)
        else:
            key = own_key(values)
        values["thread_key"] = key[:998]


def _stored_parent_keys(entries):
    wanted = {values["in_reply_to"] for values in entries if values["in_reply_to"] and not values["references"]}
    if not wanted:
        return {}
    rows = Message.objects.filter(message_id__in=wanted).exclude(thread_key="").values_list("message_id", "thread_key")
    return dict(rows)


def _subject_match_key(values, addresses, own_addresses):
    """Return the key of an earlier message with the same subject and a shared participant (rule 3)."""
    addresses = set(addresses) - set(own_addresses)
    subject = normalize_subject(values["subject"])
    if not addresses or not subject:
        return None
    candidates = (
        Participant.objects.filter(address__in=addresses, owner_id=values["owner_id"], sort_date__lte=values["sort_date"])
        .order_by("-sort_date").values_list("message__subject", "message__thread_key")[:FALLBACK_CANDIDATES]
    )
    for candidate_subject, key in candidates:
        if key and normalize_subject(candidate_subject) == subject:
            return key
    return None


def adopt_early_replies(entries):
    """Move replies stored before their parent to the parent's key (two queries at most).

    `entries` are the field values of the messages just stored.
    """
    new_keys = {
        values["message_id"]: values["thread_key"]
        for values in entries
        if values["message_id"] and values["thread_key"] and values["thread_key"] != values["message_id"]
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
