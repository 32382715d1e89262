"""The sharing rules: which stored messages a user may see, and how much of each.

Every list, detail page, download, count and search of messages goes
through this module, so the sharing rules live in one place:

1. A user always sees the whole of their own messages.
2. Another user's messages are seen only when that owner's mailbox shares
   with the viewer: publicly, or with the viewer or one of the viewer's
   groups. The mailbox's own choice applies unless an operator fixed a
   GroupSharingPolicy for one of the owner's groups (the highest priority
   wins).
3. A shared message is seen only through a Lead or Contact that the viewer
   may see and that the message involves ("Public: every user who can see
   the record"). The owner's own addresses (mailbox and From aliases) do not
   count: nearly every message of the mailbox carries them.
4. A message any of whose participants matches the owner's exclusion list
   (an address, or a domain and its subdomains) is seen by its owner only.
5. At the "metadata" level others see the date, sender, recipients and
   subject; body, snippet and attachments stay hidden.

Everything is decided at read time from the current settings, so a change
applies at once to earlier messages. No decision is copied onto messages.

Superusers get no exception in the CRM pages: a mailbox owner's choice to
keep mail private holds for everyone who uses the CRM. Operators read
content in the Django admin, where `can_view_content_in_admin` lets only
superusers see it.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Value, When

from .models import (
    FromAddress, GroupSharingPolicy, MailAccount, Message, Participant, SharingExclusion, SharingLevel, SharingMode,
)


@dataclass(frozen=True)
class SharingSetting:
    """The sharing setting in force for one mailbox."""

    mode: str
    level: str
    user_ids: frozenset = frozenset()
    group_ids: frozenset = frozenset()
    # The operator's policy that fixed this setting, or None when the owner chose it.
    policy: GroupSharingPolicy | None = None

    @property
    def is_fixed(self):
        return self.policy is not None

    def includes(self, user_id, group_ids):
        """Return whether a user (with their group ids) is in the audience."""
        if self.mode == SharingMode.PUBLIC:
            return True
        if self.mode == SharingMode.CUSTOM:
            return user_id in self.user_ids or bool(self.group_ids & set(group_ids))
        return False


@dataclass(frozen=True)
class MailboxGrant:
    """The part of one owner's mailbox that one viewer may see."""

    owner_id: int
    level: str
    is_imap: bool
    # Normalised exclusion values: addresses ("ana@x.com") and domains ("x.com").
    exclusions: tuple = ()
    # The owner's own normalised addresses (mailbox and From aliases). They
    # never tie the owner's messages to a record for someone else: nearly
    # every message of the mailbox carries them.
    own_addresses: frozenset = frozenset()

    @property
    def is_content_shared(self):
        return self.level == SharingLevel.FULL


@dataclass
class MailboxAccess:
    """The mailboxes one viewer may read, computed once per request.

    `grants` maps an owner id to a MailboxGrant; the viewer's own mailbox is
    in it with full content and no exclusions.
    """

    viewer_id: int | None
    grants: dict = field(default_factory=dict)

    @property
    def owner_ids(self):
        return sorted(self.grants)

    def content_owner_ids(self):
        return sorted(owner_id for owner_id, grant in self.grants.items() if grant.is_content_shared)


def effective_sharing(account):
    """Return the SharingSetting in force for `account` (three or four queries).

    An operator's GroupSharingPolicy for one of the owner's groups replaces
    the owner's choice. Among several, the highest priority wins, then the
    oldest policy, so that the choice is stable.
    """
    policy = _policies_by_owner([account.owner_id]).get(account.owner_id)
    if policy is not None:
        return SharingSetting(
            mode=policy.sharing_mode, level=policy.sharing_level, policy=policy,
            user_ids=frozenset(policy.shared_users.values_list("pk", flat=True)),
            group_ids=frozenset(policy.shared_groups.values_list("pk", flat=True)),
        )
    return SharingSetting(
        mode=account.sharing_mode, level=account.sharing_level,
        user_ids=frozenset(account.shared_users.values_list("pk", flat=True)),
        group_ids=frozenset(account.shared_groups.values_list("pk", flat=True)),
    )


def mailbox_access(user):
    """Return the MailboxAccess of `user`, in a fixed number of queries.

    The number of queries does not grow with the number of mailboxes or
    messages. The rows read grow with the number of mailboxes (one per user).
    A view computes it once and passes it to the other functions here.
    """
    if not user.is_authenticated or not user.is_active:
        return MailboxAccess(viewer_id=None)

    viewer_groups = set(user.groups.values_list("pk", flat=True))
    accounts = list(MailAccount.objects.values(
        "pk", "owner_id", "sharing_mode", "sharing_level", "incoming_protocol", "email_normalized",
    ))
    settings = _settings_by_owner(accounts, user.pk, viewer_groups)
    exclusions = _exclusions_by_account()
    aliases = _aliases_by_account()

    access = MailboxAccess(viewer_id=user.pk)
    access.grants[user.pk] = MailboxGrant(owner_id=user.pk, level=SharingLevel.FULL, is_imap=True)
    for account in accounts:
        owner_id = account["owner_id"]
        is_imap = account["incoming_protocol"] == "imap"
        if owner_id == user.pk:
            access.grants[owner_id] = MailboxGrant(owner_id=owner_id, level=SharingLevel.FULL, is_imap=is_imap)
            continue
        setting = settings[owner_id]
        if setting.includes(user.pk, viewer_groups):
            access.grants[owner_id] = MailboxGrant(
                owner_id=owner_id, level=setting.level, is_imap=is_imap,
                exclusions=exclusions.get(account["pk"], ()),
                own_addresses=frozenset({account["email_normalized"], *aliases.get(account["pk"], ())}),
            )
    return access


def _settings_by_owner(accounts, viewer_id, viewer_groups):
    """Return {owner id: SharingSetting} for account rows, in six queries.

    The audiences hold only the viewer and the viewer's groups, which is all
    that SharingSetting.includes needs to decide for this viewer.
    """
    account_users = _pairs(MailAccount.shared_users.through, "mailaccount_id", "user_id", viewer_id, ())
    account_groups = _pairs(MailAccount.shared_groups.through, "mailaccount_id", "group_id", None, viewer_groups)
    policy_users = _pairs(GroupSharingPolicy.shared_users.through, "groupsharingpolicy_id", "user_id", viewer_id, ())
    policy_groups = _pairs(GroupSharingPolicy.shared_groups.through, "groupsharingpolicy_id", "group_id", None, viewer_groups)
    policies = _policies_by_owner([account["owner_id"] for account in accounts])

    settings = {}
    for account in accounts:
        policy = policies.get(account["owner_id"])
        if policy is not None:
            setting = SharingSetting(
                mode=policy.sharing_mode, level=policy.sharing_level, policy=policy,
                user_ids=frozenset(policy_users.get(policy.pk, ())),
                group_ids=frozenset(policy_groups.get(policy.pk, ())),
            )
        else:
            setting = SharingSetting(
                mode=account["sharing_mode"], level=account["sharing_level"],
                user_ids=frozenset(account_users.get(account["pk"], ())),
                group_ids=frozenset(account_groups.get(account["pk"], ())),
            )
        settings[account["owner_id"]] = setting
    return settings


def _pairs(through, left, right, user_id, group_ids):
    """Return {left id: {right ids}} from a many-to-many table, limited to one user or some groups."""
    rows = through.objects.filter(**{right: user_id}) if user_id is not None else through.objects.filter(
        **{f"{right}__in": list(group_ids)}
    )
    result = {}
    for key, value in rows.values_list(left, right):
        result.setdefault(key, set()).add(value)
    return result


def policy_in_force(user_id):
    """Return the GroupSharingPolicy that applies to a user's mailbox, or None."""
    return _policies_by_owner([user_id]).get(user_id)


def _policies_by_owner(owner_ids):
    """Return {user id: the GroupSharingPolicy in force for that user}."""
    memberships = (
        Group.user_set.through.objects
        .filter(user_id__in=owner_ids, group__sharing_policy__isnull=False)
        .values_list("user_id", "group__sharing_policy")
    )
    policy_ids = {policy_id for _user, policy_id in memberships}
    policies = {policy.pk: policy for policy in GroupSharingPolicy.objects.filter(pk__in=policy_ids)}
    chosen = {}
    for user_id, policy_id in memberships:
        policy = policies[policy_id]
        current = chosen.get(user_id)
        if current is None or (policy.priority, -policy.pk) > (current.priority, -current.pk):
            chosen[user_id] = policy
    return chosen


def _aliases_by_account():
    result = {}
    for account_id, address in FromAddress.objects.values_list("account_id", "address_normalized"):
        result.setdefault(account_id, set()).add(address)
    return result


def _exclusions_by_account():
    result = {}
    for account_id, value in SharingExclusion.objects.values_list("account_id", "value"):
        normalized = normalize_exclusion(value)
        if normalized:
            result.setdefault(account_id, []).append(normalized)
    return {account_id: tuple(sorted(values)) for account_id, values in result.items()}


def normalize_exclusion(value):
    """Return the comparable form of an exclusion: an address or a bare domain.

    "@Example.COM" and "example.com" both become "example.com"; an address is
    normalised like every other address (crm.addresses.normalize_address).
    """
    from crm.addresses import normalize_address

    value = (value or "").strip()
    if not value:
        return ""
    if "@" in value.strip("@"):
        return normalize_address(value)
    return normalize_address("x@" + value.strip("@"))[2:]


def exclusion_match(exclusions, field_name="address"):
    """Return a Q over participant addresses matching any exclusion.

    A domain matches its subdomains too: excluding "example.com" keeps mail
    with "hr.example.com" private as well.
    """
    condition = Q(pk__in=[])
    for value in exclusions:
        if "@" in value:
            condition |= Q(**{field_name: value})
        else:
            condition |= Q(**{f"{field_name}__endswith": "@" + value})
            condition |= Q(**{f"{field_name}__endswith": "." + value})
    return condition


def shared_message_filter(access, owner_ids=None):
    """Return a Q over Message rows of `owner_ids` (default: all granted) the viewer may see.

    Owners whose grant carries exclusions get a NOT EXISTS over the
    message's participants, so their excluded messages drop out. Use it
    where few messages are in play (one page, one conversation); lists
    of a record use `record_exclusion_filter`.
    """
    owner_ids = access.owner_ids if owner_ids is None else [pk for pk in owner_ids if pk in access.grants]
    plain = [pk for pk in owner_ids if pk == access.viewer_id or not access.grants[pk].exclusions]
    condition = Q(owner_id__in=plain)
    for owner_id in owner_ids:
        exclusions = access.grants[owner_id].exclusions
        if owner_id == access.viewer_id or not exclusions:
            continue
        excluded = Participant.objects.filter(message_id=OuterRef("pk")).filter(exclusion_match(exclusions))
        condition |= Q(owner_id=owner_id) & ~Exists(excluded)
    return condition


def visible_messages(user, access=None):
    """Return the messages `user` may open outside a record's list.

    Adds rule 3 to `shared_message_filter`: another owner's message must
    involve a Lead or Contact the user may see. Lists of one record use
    `record_messages` instead, where the record already satisfies rule 3.
    """
    access = access or mailbox_access(user)
    if access.viewer_id is None:
        return Message.objects.none()
    own = Q(owner_id=access.viewer_id)
    others = [pk for pk in access.owner_ids if pk != access.viewer_id]
    if not others:
        return annotate_content_visibility(Message.objects.filter(own), user, access)
    shared = shared_message_filter(access, others) & involves_visible_record(user)
    return annotate_content_visibility(Message.objects.filter(own | shared), user, access)


def record_messages(record, user, access=None, owner_ids=None):
    """Return the messages that involve `record` and that `user` may see.

    The caller must have checked that `user` may see `record`. A message
    involves a record when its From, To, Cc or Bcc contains one of the
    record's addresses. Matching happens at read time, so an address added
    later shows earlier mail at once. `owner_ids` narrows the list to some
    mailboxes. Each message carries `is_content_visible`.
    """
    access = access or mailbox_access(user)
    messages = messages_involving(record.normalized_addresses(), access, owner_ids)
    return annotate_content_visibility(messages, user, access)


def messages_involving(addresses, access, owner_ids=None):
    """Return the messages involving `addresses` that the access allows, without annotations.

    `addresses` are a visible record's normalised addresses.
    """
    participants = participants_involving(addresses, access, owner_ids)
    if participants is None:
        return Message.objects.none()
    return Message.objects.filter(pk__in=participants.values("message_id"))


def participants_involving(addresses, access, owner_ids=None):
    """Return the Participant rows of `addresses` on messages the access allows, or None for none.

    The filter reads only the (address, owner, sort_date) index, which
    covers the message id and key, so counting and grouping a record's
    messages never touches the message table. The cost follows the
    record's messages, not the size of the tables.
    """
    owner_ids = access.owner_ids if owner_ids is None else [pk for pk in owner_ids if pk in access.grants]
    if access.viewer_id is None or not addresses or not owner_ids:
        return None
    participants = Participant.objects.filter(address__in=addresses, owner_id__in=owner_ids).filter(
        record_exclusion_filter(addresses, access, owner_ids)
    )
    own_addresses = _own_addresses_in(addresses, access, owner_ids)
    if own_addresses:
        participants = participants.exclude(own_addresses)
    return participants


def _own_addresses_in(addresses, access, owner_ids):
    """Return a Q over Participant rows where a record's address is another owner's own, or None.

    A record that carries a mailbox owner's own address (a Lead made with a
    colleague's address) must not open that colleague's whole mailbox.
    """
    addresses = set(addresses)
    condition = None
    for owner_id in owner_ids:
        if owner_id == access.viewer_id:
            continue
        overlap = access.grants[owner_id].own_addresses & addresses
        if overlap:
            part = Q(owner_id=owner_id, address__in=sorted(overlap))
            condition = part if condition is None else condition | part
    return condition


def record_exclusion_filter(addresses, access, owner_ids):
    """Return a Q over Participant rows of `addresses` that drops each owner's excluded messages.

    The same rule as `shared_message_filter`, written so that PostgreSQL looks
    for excluded participants only among the record's own messages of
    that owner. With the correlated NOT EXISTS form, PostgreSQL 15 chose a
    hashed subplan that scanned every participant for the LIKE patterns.
    """
    plain = [pk for pk in owner_ids if pk == access.viewer_id or not access.grants[pk].exclusions]
    condition = Q(owner_id__in=plain)
    for owner_id in owner_ids:
        exclusions = access.grants[owner_id].exclusions
        if owner_id == access.viewer_id or not exclusions:
            continue
        candidates = Participant.objects.filter(address__in=addresses, owner_id=owner_id).values("message_id")
        excluded = Participant.objects.filter(exclusion_match(exclusions), message_id__in=candidates)
        condition |= Q(owner_id=owner_id) & ~Q(message_id__in=excluded.values("message_id"))
    return condition


def involves_visible_record(user):
    """Return a Q: the message involves a Lead or Contact that `user` may see.

    The message owner's own addresses do not count (see
    MailboxGrant.own_addresses).
    """
    from crm.models import Contact, ContactEmail, Lead, LeadEmail

    condition = Q(pk__in=[])
    for model, email_model in ((Lead, LeadEmail), (Contact, ContactEmail)):
        records = model.objects.visible_to(user)
        primary = records.exclude(email_normalized="").values("email_normalized")
        secondary = email_model.objects.filter(record__in=records.values("pk")).values("address_normalized")
        condition |= Q(address__in=primary) | Q(address__in=secondary)
    owners_mailbox = MailAccount.objects.filter(owner_id=OuterRef("owner_id"), email_normalized=OuterRef("address"))
    owners_alias = FromAddress.objects.filter(
        account__owner_id=OuterRef("owner_id"), address_normalized=OuterRef("address"),
    )
    return Exists(
        Participant.objects.filter(condition, message_id=OuterRef("pk"))
        .exclude(Exists(owners_mailbox)).exclude(Exists(owners_alias))
    )


def annotate_content_visibility(messages, user, access=None):
    """Add `is_content_visible`: whether `user` may read the body, snippet and attachments.

    The owner always may; other users only where the grant shares whole
    messages rather than metadata (date, From, To, subject).
    """
    access = access or mailbox_access(user)
    content_owners = access.content_owner_ids()
    return messages.annotate(is_content_visible=Case(
        When(owner_id__in=content_owners, then=Value(True)), default=Value(False), output_field=BooleanField(),
    ))


def content_hidden_reason(message, user):
    """Return the reason `user` may read only the metadata of `message`: "metadata", or "" when the content is readable."""
    if message.owner_id == user.pk or getattr(message, "is_content_visible", False):
        return ""
    return "metadata"


def can_view_content_in_admin(user):
    """Return whether `user` may see message content (subject, bodies, raw, attachments) in the admin.

    Only active superusers may. Staff without superuser status see metadata
    at most (dates, sizes, owner, direction), whatever the mailbox shares,
    because the admin bypasses the sharing rules above.
    """
    return bool(user.is_active and user.is_superuser)
