from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.addresses import normalize_address

from . import crypto


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    PLAIN = "plain", _("None (unencrypted)")


class Protocol(models.TextChoices):
    IMAP = "imap", "IMAP"
    POP3 = "pop3", "POP3"


class SharingMode(models.TextChoices):
    PRIVATE = "private", _("Private: only me")
    PUBLIC = "public", _("Public: everyone who can see the record")
    CUSTOM = "custom", _("Custom: chosen users and groups")


class SharingLevel(models.TextChoices):
    FULL = "full", _("The whole message")
    METADATA = "metadata", _("Only date, sender, recipients and subject")


class MailAccount(models.Model):
    """A user's connected mailbox: servers, encrypted secrets and sync state."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    class AuthMethod(models.TextChoices):
        PASSWORD = "password", _("Password")
        OAUTH2 = "oauth2", _("Sign in with the provider")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_accounts",
        verbose_name=_("owner"),
    )
    email_address = models.EmailField(_("email address"), max_length=254)
    email_normalized = models.CharField(max_length=254, db_index=True, editable=False)
    provider = models.CharField(
        _("provider"), max_length=40, default="custom",
        help_text=_("Key of the provider preset, or “custom”."),
    )

    incoming_protocol = models.CharField(
        _("incoming protocol"), max_length=4, choices=Protocol.choices, default=Protocol.IMAP,
    )
    incoming_host = models.CharField(_("incoming server"), max_length=253)
    incoming_port = models.PositiveIntegerField(_("incoming port"))
    incoming_security = models.CharField(
        _("incoming security"), max_length=10, choices=Security.choices, default=Security.SSL,
    )
    incoming_login = models.CharField(_("incoming username"), max_length=320)
    incoming_password_encrypted = models.TextField(blank=True, editable=False)

    smtp_host = models.CharField(_("outgoing server"), max_length=253)
    smtp_port = models.PositiveIntegerField(_("outgoing port"))
    smtp_security = models.CharField(
        _("outgoing security"), max_length=10, choices=Security.choices, default=Security.SSL,
    )
    smtp_same_credentials = models.BooleanField(
        _("use the same credentials for the outgoing server"), default=True,
    )
    smtp_login = models.CharField(_("outgoing username"), max_length=320, blank=True)
    smtp_password_encrypted = models.TextField(blank=True, editable=False)

    auth_method = models.CharField(
        _("sign-in method"), max_length=10, choices=AuthMethod.choices, default=AuthMethod.PASSWORD,
    )
    oauth_refresh_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_access_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    store_sent_on_server = models.BooleanField(_("store sent messages on the server"), default=False)
    sync_window_days = models.PositiveIntegerField(
        _("first sync goes back (days)"), null=True, blank=True,
        help_text=_("Empty: sync all messages."),
    )

    sharing_mode = models.CharField(
        _("sharing"), max_length=10, choices=SharingMode.choices, default=SharingMode.PRIVATE,
    )
    sharing_level = models.CharField(
        _("shared content"), max_length=10, choices=SharingLevel.choices, default=SharingLevel.FULL,
    )
    shared_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mailboxes_shared_with_me",
        verbose_name=_("shared with users"),
    )
    shared_groups = models.ManyToManyField(
        Group, blank=True, related_name="mailboxes_shared_with_group",
        verbose_name=_("shared with groups"),
    )

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # A code from emailsync.errors; the page shows its text in the reader's
    # language.
    pause_reason = models.CharField(_("pause reason"), max_length=40, blank=True)
    last_error_code = models.CharField(_("last error"), max_length=40, blank=True)
    # Technical detail for operators (server reply, exception text). Never
    # holds credentials.
    last_error_detail = models.TextField(_("last error detail"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    consecutive_auth_failures = models.PositiveSmallIntegerField(_("consecutive failed logins"), default=0)
    consecutive_failures = models.PositiveSmallIntegerField(_("consecutive failed syncs"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)

    sync_requested_at = models.DateTimeField(_("sync requested at"), null=True, blank=True)
    sync_started_at = models.DateTimeField(_("sync started at"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    first_synced_at = models.DateTimeField(_("first sync completed at"), null=True, blank=True)
    progress_done = models.PositiveIntegerField(_("messages done"), default=0)
    progress_total = models.PositiveIntegerField(_("messages to sync"), default=0)

    # Claimed by one worker at a time; a lease that expired belongs to a
    # worker that died and may be taken over.
    lease_owner = models.CharField(_("synced by worker"), max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(_("worker lease expires at"), null=True, blank=True)

    capabilities = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(_("connected at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        permissions = [("integrate_email", _("Can connect a mailbox (integrate email)"))]
        constraints = [
            models.UniqueConstraint(fields=["owner"], name="one_mailbox_per_user"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return self.email_address

    def save(self, *args, **kwargs):
        self.email_address = self.email_address.strip()
        self.email_normalized = normalize_address(self.email_address)
        super().save(*args, **kwargs)

    # Secrets are encrypted with Fernet keys from the settings. The plain
    # value exists only in memory while a connection is made.

    def set_incoming_password(self, password):
        self.incoming_password_encrypted = crypto.encrypt(password)

    def get_incoming_password(self):
        return crypto.decrypt(self.incoming_password_encrypted)

    def set_smtp_password(self, password):
        self.smtp_password_encrypted = crypto.encrypt(password)

    def get_smtp_password(self):
        if self.smtp_same_credentials:
            return self.get_incoming_password()
        return crypto.decrypt(self.smtp_password_encrypted)

    def get_smtp_login(self):
        if self.smtp_same_credentials:
            return self.incoming_login
        return self.smtp_login

    def own_addresses(self):
        """Return the normalised addresses that mean "this mailbox sent it".

        Unconfirmed aliases are left out, so an address the owner merely
        typed in cannot turn received mail into sent mail.
        """
        addresses = {self.email_normalized}
        addresses.update(self.from_addresses.confirmed().values_list("address_normalized", flat=True))
        return addresses

    @property
    def is_imap(self):
        return self.incoming_protocol == Protocol.IMAP


class FromAddressQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(confirmed_at__isnull=False)


class FromAddress(models.Model):
    """An address the owner may send from (the mailbox's own or an alias).

    An alias counts only once confirmed. Until then it cannot be chosen as
    the sender or the default, and it is not one of the mailbox's own
    addresses.
    """

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="from_addresses")
    address = models.EmailField(_("address"), max_length=254)
    address_normalized = models.CharField(max_length=254, editable=False)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    # Set when the owner opens the link emailed to the alias. The mailbox's
    # own address is confirmed when the mailbox is connected.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)

    objects = FromAddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("From address")
        verbose_name_plural = _("From addresses")
        constraints = [
            models.UniqueConstraint(fields=["account", "address_normalized"], name="from_address_unique"),
        ]
        ordering = ["-is_default", "address"]

    def __str__(self):
        return self.address

    def save(self, *args, **kwargs):
        self.address = self.address.strip()
        self.address_normalized = normalize_address(self.address)
        super().save(*args, **kwargs)

    @property
    def is_confirmed(self):
        return self.confirmed_at is not None


class SharingExclusion(models.Model):
    """An address or a whole domain whose messages are never shared."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="sharing_exclusions")
    value = models.CharField(
        _("address or domain"), max_length=254,
        help_text=_("An address (ana@example.com) or a domain (example.com)."),
    )

    class Meta:
        verbose_name = _("sharing exclusion")
        verbose_name_plural = _("sharing exclusions")
        constraints = [
            models.UniqueConstraint(fields=["account", "value"], name="sharing_exclusion_unique"),
        ]

    def __str__(self):
        return self.value


class GroupSharingPolicy(models.Model):
    """A sharing setting fixed by an operator for the members of a group."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="sharing_policy", verbose_name=_("group"))
    sharing_mode = models.CharField(_("sharing"), max_length=10, choices=SharingMode.choices)
    sharing_level = models.CharField(_("shared content"), max_length=10, choices=SharingLevel.choices)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=0,
        help_text=_("When a user is in several groups with a policy, the highest priority wins."),
    )
    # The audience of a "custom" policy; the mailbox's own choice of users
    # and groups does not apply while a policy is in force.
    shared_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+",
        verbose_name=_("shared with users"),
        help_text=_("Used when the sharing is custom."),
    )
    shared_groups = models.ManyToManyField(
        Group, blank=True, related_name="+",
        verbose_name=_("shared with groups"),
        help_text=_("Used when the sharing is custom."),
    )

    class Meta:
        verbose_name = _("group sharing policy")
        verbose_name_plural = _("group sharing policies")

    def __str__(self):
        return str(self.group)


class Folder(models.Model):
    """One server folder of an account and its sync checkpoint."""

    class Role(models.TextChoices):
        INBOX = "inbox", _("Inbox")
        SENT = "sent", _("Sent")
        ALL_MAIL = "all", _("All mail")
        OTHER = "other", _("Other")
        SKIPPED = "skipped", _("Not synced (trash, junk or drafts)")

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(_("name"), max_length=1000)
    delimiter = models.CharField(max_length=4, blank=True)
    flags = models.JSONField(default=list, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.OTHER)
    is_selectable = models.BooleanField(default=True)
    is_sync_enabled = models.BooleanField(_("sync this folder"), default=False)
    exists_on_server = models.BooleanField(default=True)

    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uidnext = models.BigIntegerField(null=True, blank=True)
    highestmodseq = models.BigIntegerField(null=True, blank=True)
    # Every UID up to this one (within the sync window) is stored. Zero until
    # the first full pass of the folder completes.
    highest_synced_uid = models.BigIntegerField(default=0)
    is_initial_sync_done = models.BooleanField(default=False)
    server_message_count = models.PositiveIntegerField(null=True, blank=True)
    backlog = models.PositiveIntegerField(default=0)

    last_synced_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    # Servers without CONDSTORE announce no flag changes, so flags are
    # re-read now and then instead.
    flags_checked_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=40, blank=True)
    last_error_detail = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="folder_name_unique"),
        ]
        ordering = ["account", "name"]

    def __str__(self):
        return self.name


class Message(models.Model):
    """One stored email, identified within its account by its raw bytes."""

    class Direction(models.TextChoices):
        RECEIVED = "received", _("Received")
        SENT = "sent", _("Sent")

    class Origin(models.TextChoices):
        SYNC = "sync", _("Synced from the mailbox")
        CRM = "crm", _("Sent from the CRM")

    # The account goes away when its owner disconnects; messages sent from
    # the CRM stay, linked to their owner.
    # No single-column indexes on these two: the unique (account,
    # content_hash) and the (owner, -sort_date) indexes start with them, and
    # every extra index slows the initial sync's inserts.
    account = models.ForeignKey(
        MailAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_messages", db_index=False,
    )
    origin = models.CharField(max_length=4, choices=Origin.choices, default=Origin.SYNC)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.RECEIVED)
    content_hash = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    gm_msgid = models.BigIntegerField(null=True, blank=True)

    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    thread_key = models.CharField(max_length=998, blank=True, db_index=True)

    subject = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    internal_date = models.DateTimeField(null=True, blank=True)
    # sent_at, or the server's INTERNALDATE when the Date header is missing
    # or unreadable: lists sort by it.
    sort_date = models.DateTimeField(db_index=True)
    from_address = models.CharField(max_length=320, blank=True)
    from_display = models.TextField(blank=True)
    to_display = models.TextField(blank=True)
    cc_display = models.TextField(blank=True)

    # Bodies are parsed after the headers, lazily, because full MIME parsing
    # is about ten times slower than reading headers.
    is_body_parsed = models.BooleanField(default=False)
    snippet = models.CharField(max_length=300, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    has_attachments = models.BooleanField(default=False)
    attachments = models.JSONField(default=list, blank=True)
    parse_problems = models.JSONField(default=list, blank=True)
    # Why the copy of a message sent from the CRM could not be appended to
    # the server's Sent folder (a code from emailsync.errors); empty when it
    # was saved or none was asked for.
    server_copy_error = models.CharField(max_length=40, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["account", "content_hash"], name="message_content_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "-sort_date"]),
        ]

    def __str__(self):
        # Never the subject: this text appears in admin breadcrumbs, log
        # entries and log lines, where content must not.
        return f"#{self.pk}"

    @property
    def key(self):
        """Return what makes two stored messages the same message; see `message_key`."""
        return message_key(self.message_id, self.content_hash)


def message_key(message_id, content_hash):
    """Return the key of "the same message": its normalised Message-ID, else "hash:" and its SHA-256.

    Copies of one message in two mailboxes (a colleague was in Cc) have
    different bytes but the same Message-ID. Without a Message-ID only
    identical bytes make the same message.
    """
    return message_id or MESSAGE_KEY_HASH_PREFIX + content_hash


MESSAGE_KEY_HASH_PREFIX = "hash:"
MESSAGE_KEY_MAX_LENGTH = 998


def owner_duplicate_key(key, message_pk):
    """Return the Participant.message_key of a message whose owner already has a message with `key`.

    Sync stores a mailbox's identical bytes once, so two stored messages of
    one owner are different messages even when they share a Message-ID
    (some mail clients reuse one). The later one gets the key, a space and
    its pk. Normalised Message-IDs contain no whitespace, so no other
    message has that key, and the Emails list never groups it.

    NOTE: another owner's copy of the later message keeps the plain key, so
    "All" groups it with the earlier message; only the Message-ID matches.
    """
    suffix = f" {message_pk}"
    return key[:MESSAGE_KEY_MAX_LENGTH - len(suffix)] + suffix


class RawMessage(models.Model):
    """The message exactly as the server returned it, kept apart so lists
    never load it."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="raw")
    data = models.BinaryField()

    class Meta:
        verbose_name = _("raw message")
        verbose_name_plural = _("raw messages")


class MessageLocation(models.Model):
    """Where a stored message sits on the server: folder, UIDVALIDITY, UID."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="locations")
    # The unique (folder, uidvalidity, uid) index serves lookups by folder.
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="locations", db_index=False)
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    flags = models.JSONField(default=list, blank=True)
    modseq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("message location")
        verbose_name_plural = _("message locations")
        constraints = [
            models.UniqueConstraint(fields=["folder", "uidvalidity", "uid"], name="location_unique"),
        ]


class Participant(models.Model):
    """An address on a message, in normalised form, for matching records.

    The message's owner, sort date and key are copied here so that a
    record's Emails list, its counts and its grouping of copies read only
    the (address, owner, sort_date) index, which covers message and key.
    """

    class Role(models.TextChoices):
        FROM = "from", _("From")
        TO = "to", _("To")
        CC = "cc", _("Cc")
        BCC = "bcc", _("Bcc")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="participants")
    role = models.CharField(max_length=4, choices=Role.choices)
    address = models.CharField(max_length=320)
    display_name = models.CharField(max_length=300, blank=True)
    # Read through the (address, owner, -sort_date) index only.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    sort_date = models.DateTimeField()
    # Message.key of the message, so that copies of one message in several
    # mailboxes share it. A later message of the same owner with the same
    # key gets owner_duplicate_key() instead.
    message_key = models.CharField(max_length=998, blank=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        indexes = [
            models.Index(fields=["address", "-sort_date"]),
            # INCLUDE makes it covering on PostgreSQL; other databases
            # ignore it.
            models.Index(
                fields=["address", "owner", "-sort_date"], include=["message", "message_key"],
                name="participant_address_owner",
            ),
        ]


class SyncFailure(models.Model):
    """A message that could not be stored; retried on later runs."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="failures")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, null=True, blank=True, related_name="failures")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    pop3_uidl = models.CharField(max_length=70, blank=True)
    reason_code = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField(auto_now=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("failed message")
        verbose_name_plural = _("failed messages")
        constraints = [
            models.UniqueConstraint(
                fields=["folder", "uidvalidity", "uid"], name="failure_location_unique",
                condition=models.Q(folder__isnull=False),
            ),
        ]


class SyncRun(models.Model):
    """One sync of one account by one worker: the history operators read."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("Completed")
        ERROR = "error", _("Failed")
        STOPPED = "stopped", _("Stopped")

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="sync_runs")
    worker = models.CharField(max_length=100)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    created = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at"]


class Pop3Seen(models.Model):
    """A POP3 UIDL already imported, so it is never imported again."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="pop3_seen")
    uidl = models.CharField(max_length=70)
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "uidl"], name="pop3_uidl_unique"),
        ]


class DraftAttachment(models.Model):
    """A file attached to an email that has not been sent yet.

    A form error or a failed send shows the form again, and browsers never
    fill a file field again, so the uploaded files are kept here under the
    form's draft key until the email is sent. Rows older than a day are
    deleted by the compose page.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    draft_key = models.CharField(max_length=64)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("draft attachment")
        verbose_name_plural = _("draft attachments")
        indexes = [models.Index(fields=["owner", "draft_key"])]

    def __str__(self):
        return self.filename


class UserActivity(models.Model):
    """When a user last sent mail from the CRM or interacted with incoming
    mail in it; the cleanup policy reads both."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_activity")
    last_sent_at = models.DateTimeField(_("last email sent from the CRM"), null=True, blank=True)
    last_interaction_at = models.DateTimeField(_("last interaction with incoming email"), null=True, blank=True)

    class Meta:
        verbose_name = _("email activity")
        verbose_name_plural = _("email activity")

    def __str__(self):
        return str(self.user)


class Heartbeat(models.Model):
    """The last time a background process proved that it runs tasks.

    The task cluster stamps the row named "tasks" from a scheduled task, so
    a recent stamp means the scheduler, the queue and a worker all work.
    """

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()
    # When the schedule meant the task to run; beat_at minus this is how
    # long the task waited in the queue.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self):
        return self.name
