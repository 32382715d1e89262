"""Forms of the mailbox setup pages.

Every value a user types is checked here before anything reaches a mail
server: server names without schemes, paths or spaces, ports from 1 to
65535, and no control characters in logins and passwords (a line break
there would end an IMAP or SMTP command early).
"""

import ipaddress
import json

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.addresses import normalize_address, split_addresses, validate_address

from . import errors, network
from .models import Protocol, Security, SharingLevel, SharingMode
from .sync_options import selectable_extra_folders
from .verify import ServerSettings

MAX_HOST_LENGTH = 253  # RFC 1035 2.3.4, without the final dot
MAX_LOGIN_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024
MAX_ADDRESS_LENGTH = 254  # RFC 5321 4.5.3.1.3, as MailAccount.email_address
MAX_EXCLUSIONS = 500

# Ports most servers use for each protocol and security; the custom form
# starts with these and its script follows changes of protocol or security.
DEFAULT_PORTS = {
    ("imap", "ssl"): 993, ("imap", "starttls"): 143, ("imap", "plain"): 143,
    ("pop3", "ssl"): 995, ("pop3", "starttls"): 110, ("pop3", "plain"): 110,
    ("smtp", "ssl"): 465, ("smtp", "starttls"): 587, ("smtp", "plain"): 25,
}



def default_ports_json():
    """Return DEFAULT_PORTS as JSON {"imap:ssl": 993, ...} for the form's script."""
    return json.dumps({f"{protocol}:{security}": port for (protocol, security), port in DEFAULT_PORTS.items()})


SYNC_WINDOW_CHOICES = [
    ("30", _("The last 30 days")),
    ("90", _("The last 3 months")),
    ("365", _("The last year")),
    ("all", _("Everything")),
]


def security_choices():
    """Return the security choices; unencrypted only where the operator allows it."""
    choices = [(Security.SSL, Security.SSL.label), (Security.STARTTLS, Security.STARTTLS.label)]
    if settings.EMAILSYNC_ALLOW_PLAINTEXT:
        choices.append((Security.PLAIN, Security.PLAIN.label))
    return choices


def clean_host(value):
    """Return a server name in ASCII (IDNA) form, or raise ValidationError.

    Accepts a DNS name or an IP address. A private, loopback or link-local
    IP address is rejected here unless the operator allows them. A name
    that resolves to one is rejected later, by the connection check.
    """
    host = value.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    _check_host_shape(value, host)

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return _clean_host_name(value, host)
    if not settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS and network.host_is_private(str(address)):
        raise ValidationError(
            errors.message_for(errors.PRIVATE_HOST_FORBIDDEN, host=host), code="private_host",
        )
    return str(address)


def _check_host_shape(value, host):
    if len(host) > MAX_HOST_LENGTH:
        raise ValidationError(
            _("The server name is longer than %(limit)d characters."),
            code="max_length", params={"limit": MAX_HOST_LENGTH},
        )
    if "://" in host:
        raise ValidationError(
            _("Enter the server name without “imap://”, “https://” or similar: for example imap.example.com."),
            code="scheme",
        )
    if any(character.isspace() for character in host):
        raise ValidationError(
            _("The server name must not contain spaces: for example imap.example.com."), code="spaces",
        )
    if "/" in host or "\\" in host:
        raise ValidationError(
            _("Enter only the server name, without a path after “/”: for example imap.example.com."),
            code="path",
        )
    if "@" in host:
        raise ValidationError(
            _("“%(value)s” looks like an email address. Enter the server name, for example imap.example.com."),
            code="address", params={"value": value.strip()},
        )


def _clean_host_name(value, host):
    if ":" in host:
        raise ValidationError(
            _("Enter the port in the Port field, not after the server name."), code="port_in_host",
        )
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.split(".")
    valid = bool(ascii_host) and len(ascii_host) <= MAX_HOST_LENGTH and all(
        0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-"
        and all(character.isalnum() or character == "-" for character in label)
        for label in labels
    )
    if not valid:
        raise ValidationError(
            _("“%(value)s” is not a valid server name. Use letters, digits, hyphens and dots: "
              "for example imap.example.com."),
            code="invalid_host", params={"value": value.strip()},
        )
    return ascii_host


def check_no_control_characters(value):
    # NEL and the Unicode line and paragraph separators break a header line
    # as surely as CR and LF do.
    if any(ord(character) < 32 or character in "\x7f\x85\u2028\u2029" for character in value):
        raise ValidationError(
            _("This value contains a line break or another control character. Type it again without them."),
            code="control_character",
        )


class HostField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_HOST_LENGTH)
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "autocomplete": "off", "autocapitalize": "none", "spellcheck": "false",
            "placeholder": "imap.example.com",
        }))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return clean_host(value) if value else value


class PortField(forms.IntegerField):
    """A port typed as text, so the browser never drops what it cannot parse."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 65535)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "size": 6}))
        kwargs.setdefault("error_messages", {
            "required": _("Enter the port number, for example 993."),
            "invalid": _("Enter the port as a whole number, for example 993."),
            "min_value": _("Enter a port from 1 to 65535."),
            "max_value": _("Enter a port from 1 to 65535."),
        })
        super().__init__(**kwargs)


class LoginField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_LOGIN_LENGTH)
        kwargs.setdefault("validators", [check_no_control_characters])
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "autocomplete": "off", "autocapitalize": "none", "spellcheck": "false",
        }))
        super().__init__(**kwargs)


class PasswordField(forms.CharField):
    """A password: never shown again, spaces kept, any script allowed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_PASSWORD_LENGTH)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("validators", [check_no_control_characters])
        # "new-password" keeps browsers from filling in the CRM's own password.
        kwargs.setdefault("widget", forms.PasswordInput(attrs={"autocomplete": "new-password"}))
        super().__init__(**kwargs)


class AddressField(forms.EmailField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_ADDRESS_LENGTH)
        kwargs.setdefault("widget", forms.EmailInput(attrs={
            "autocomplete": "email", "autocapitalize": "none", "spellcheck": "false",
            "placeholder": _("name@example.com"),
        }))
        super().__init__(**kwargs)


# --- Popular providers -------------------------------------------------------


class ProviderAddressForm(forms.Form):
    """The first page of a preset: protocol and email address."""

    protocol = forms.ChoiceField(
        label=_("How should the CRM read your mail?"),
        widget=forms.RadioSelect, initial=Protocol.IMAP,
    )
    email_address = AddressField(label=_("Email address"))

    def __init__(self, *args, provider, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(Protocol.IMAP, _("IMAP (recommended): reads every synced folder and leaves mail on the server"))]
        if provider.pop3:
            choices.append((Protocol.POP3, _("POP3: reads only the inbox, and leaves mail on the server")))
        self.fields["protocol"].choices = choices


class ProviderPasswordForm(forms.Form):
    password = PasswordField(label=_("Password"))


# --- Server details ----------------------------------------------------------


class ServerForm(forms.Form):
    """Incoming and outgoing servers with their credentials.

    The base of the custom connection form (passwords required) and of the
    server details form of a connected custom mailbox (an empty password
    keeps the stored one).
    """

    incoming_host = HostField(label=_("Server name"))
    incoming_port = PortField(label=_("Port"))
    incoming_security = forms.ChoiceField(label=_("Security"))
    incoming_login = LoginField(
        label=_("Username"), required=False,
        help_text=_("Usually your full email address. Leave it empty to use the email address."),
    )
    incoming_password = PasswordField(label=_("Password"))

    smtp_host = HostField(label=_("Server name"), widget=forms.TextInput(attrs={
        "autocomplete": "off", "autocapitalize": "none", "spellcheck": "false", "placeholder": "smtp.example.com",
    }))
    smtp_port = PortField(label=_("Port"))
    smtp_security = forms.ChoiceField(label=_("Security"))
    smtp_same_credentials = forms.BooleanField(
        label=_("Use the same credentials for the outgoing server"), required=False, initial=True,
    )
    smtp_login = LoginField(label=_("Username"), required=False)
    smtp_password = PasswordField(label=_("Password"), required=False)

    passwords_required = True
    field_groups = {"incoming_": _("Incoming server"), "smtp_": _("Outgoing server (SMTP)")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("incoming_security", "smtp_security"):
            self.fields[name].choices = security_choices()
        if not self.passwords_required:
            self.fields["incoming_password"].required = False
            for name in ("incoming_password", "smtp_password"):
                self.fields[name].help_text = _(
                    "Leave it empty to keep the saved password. Enter it again after changing "
                    "a server name, port, security or username."
                )

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("smtp_same_credentials"):
            return cleaned_data
        if not cleaned_data.get("smtp_login") and "smtp_login" not in self.errors:
            self.add_error("smtp_login", ValidationError(
                _("Enter the username for the outgoing server, or tick “Use the same credentials”."),
                code="required",
            ))
        if self.passwords_required and not cleaned_data.get("smtp_password") and "smtp_password" not in self.errors:
            self.add_error("smtp_password", ValidationError(
                _("Enter the password for the outgoing server, or tick “Use the same credentials”."),
                code="required",
            ))
        return cleaned_data

    def incoming_settings(self, protocol, default_login):
        data = self.cleaned_data
        return ServerSettings(
            protocol, data["incoming_host"], data["incoming_port"], data["incoming_security"],
            data["incoming_login"] or default_login, data["incoming_password"],
        )

    def outgoing_settings(self, default_login):
        data = self.cleaned_data
        if data["smtp_same_credentials"]:
            login, password = data["incoming_login"] or default_login, data["incoming_password"]
        else:
            login, password = data["smtp_login"], data["smtp_password"]
        return ServerSettings("smtp", data["smtp_host"], data["smtp_port"], data["smtp_security"], login, password)


class CustomServerForm(ServerForm):
    """Connect any IMAP or POP3 server with an SMTP server ("Other email")."""

    email_address = AddressField(label=_("Email address"))
    incoming_protocol = forms.ChoiceField(
        label=_("Protocol"), widget=forms.RadioSelect, initial=Protocol.IMAP,
        choices=[
            (Protocol.IMAP, _("IMAP (recommended): syncs the inbox, Sent and the folders you choose")),
            (Protocol.POP3, _("POP3: syncs only the inbox")),
        ],
        help_text=_("Either way, mail stays on the server."),
    )

    field_order = ["email_address", "incoming_protocol"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {
            "incoming_security": Security.SSL, "incoming_port": DEFAULT_PORTS[("imap", "ssl")],
            "smtp_security": Security.SSL, "smtp_port": DEFAULT_PORTS[("smtp", "ssl")],
            "smtp_same_credentials": True, "incoming_protocol": Protocol.IMAP,
        })
        super().__init__(*args, **kwargs)

    def incoming_settings(self, protocol=None, default_login=None):
        data = self.cleaned_data
        return super().incoming_settings(data["incoming_protocol"], data["email_address"])

    def outgoing_settings(self, default_login=None):
        return super().outgoing_settings(self.cleaned_data["email_address"])


class ServerDetailsForm(ServerForm):
    """Edit the servers of a connected custom mailbox; empty passwords keep the saved ones.

    A saved password is kept only while its server stays the same: the
    view requires it again after a change (services.missing_passwords).
    """

    passwords_required = False

    @classmethod
    def initial_for(cls, account):
        return {
            "incoming_host": account.incoming_host, "incoming_port": account.incoming_port,
            "incoming_security": account.incoming_security, "incoming_login": account.incoming_login,
            "smtp_host": account.smtp_host, "smtp_port": account.smtp_port,
            "smtp_security": account.smtp_security, "smtp_same_credentials": account.smtp_same_credentials,
            "smtp_login": account.smtp_login,
        }


class PresetPasswordForm(forms.Form):
    """A new password for a mailbox whose servers come from a preset."""

    password = PasswordField(
        label=_("New password"),
        help_text=_("The password (or app-specific password) the provider accepts now."),
    )


# --- After connecting ----------------------------------------------------------


class FromAddressForm(forms.Form):
    address = AddressField(label=_("Email address"), help_text=_(
        "An alias your provider lets you send from, such as ventas@example.com."
    ))
    display_name = forms.CharField(
        label=_("Name shown to recipients"), required=False, max_length=200,
        validators=[check_no_control_characters],
        help_text=_("Optional, for example “Ana García · Sales”."),
    )


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


class SharingForm(forms.Form):
    """Who else sees the mailbox's messages, how much, and what is never shared.

    With a group policy the audience and level are shown but not editable;
    the exclusion list always is, because it only ever shares less.
    """

    sharing_mode = forms.ChoiceField(
        label=_("Who else sees the messages of this mailbox?"), widget=forms.RadioSelect,
        choices=SharingMode.choices,
    )
    shared_users = UserChoiceField(
        label=_("Users"), required=False, queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    shared_groups = forms.ModelMultipleChoiceField(
        label=_("Groups"), required=False, queryset=Group.objects.none(), widget=forms.CheckboxSelectMultiple,
    )
    sharing_level = forms.ChoiceField(
        label=_("What do they see?"), widget=forms.RadioSelect, choices=SharingLevel.choices,
        help_text=_("With “only date, sender, recipients and subject”, bodies and attachments stay hidden."),
    )
    exclusions = forms.CharField(
        label=_("Never share messages with these addresses or domains"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_("One per line: an address (ana@example.com) or a whole domain (example.com). "
                    "Messages from or to them stay private whatever the setting above."),
    )

    def __init__(self, *args, account, policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.policy = policy
        self.fields["shared_users"].queryset = (
            get_user_model().objects.filter(is_active=True).exclude(pk=account.owner_id).order_by("username")
        )
        self.fields["shared_groups"].queryset = Group.objects.order_by("name")
        for name, empty_text in (
            ("shared_users", _("There are no other users yet.")),
            ("shared_groups", _("There are no groups yet; an administrator creates them.")),
        ):
            if not self.fields[name].queryset.exists():
                self.fields[name].help_text = empty_text
        if policy is not None:
            for name in ("sharing_mode", "sharing_level"):
                self.fields[name].disabled = True
            self.initial.update(sharing_mode=policy.sharing_mode, sharing_level=policy.sharing_level)

    @classmethod
    def initial_for(cls, account):
        return {
            "sharing_mode": account.sharing_mode, "sharing_level": account.sharing_level,
            "shared_users": list(account.shared_users.all()), "shared_groups": list(account.shared_groups.all()),
            "exclusions": "\n".join(account.sharing_exclusions.order_by("value").values_list("value", flat=True)),
        }

    def clean_exclusions(self):
        values = split_addresses(self.cleaned_data["exclusions"])
        if len(values) > MAX_EXCLUSIONS:
            raise ValidationError(
                _("Enter at most %(limit)d addresses or domains."), code="too_many",
                params={"limit": MAX_EXCLUSIONS},
            )
        problems = []
        cleaned = []
        for value in values:
            try:
                cleaned.append(clean_exclusion(value))
            except ValidationError as error:
                problems.append(error)
        if problems:
            raise ValidationError(problems)
        return list(dict.fromkeys(cleaned))

    def clean(self):
        cleaned_data = super().clean()
        is_custom = cleaned_data.get("sharing_mode") == SharingMode.CUSTOM
        has_audience = cleaned_data.get("shared_users") or cleaned_data.get("shared_groups")
        if is_custom and not has_audience and "shared_users" not in self.errors:
            self.add_error("shared_users", ValidationError(
                _("Choose at least one user or group, or pick another sharing setting."), code="no_audience",
            ))
        return cleaned_data


def clean_exclusion(value):
    """Return an exclusion in stored form: a normalised address, or a domain in IDNA form."""
    shown = value if len(value) <= 60 else value[:57] + "…"
    if len(value) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            _("“%(value)s” is longer than %(limit)d characters."), code="max_length",
            params={"value": shown, "limit": MAX_ADDRESS_LENGTH},
        )
    if "@" in value.lstrip("@"):
        try:
            validate_address(value)
        except ValidationError:
            raise ValidationError(
                _("“%(value)s” is not a valid email address."), code="invalid", params={"value": shown},
            ) from None
        return normalize_address(value)
    try:
        return _clean_host_name(value, value.strip().lstrip("@").rstrip("."))
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is neither an email address nor a domain such as example.com."),
            code="invalid_domain", params={"value": shown},
        ) from None


class SyncOptionsForm(forms.Form):
    """The sync's options: how far back, extra folders, and sent copies."""

    sync_window = forms.ChoiceField(
        label=_("How far back should the first sync go?"), widget=forms.RadioSelect,
        choices=SYNC_WINDOW_CHOICES, initial="90",
        help_text=_("Older messages stay on the server; a longer period takes longer to copy."),
    )
    folders = forms.ModelMultipleChoiceField(
        label=_("Other folders to sync"), required=False, queryset=None, widget=forms.CheckboxSelectMultiple,
        help_text=_("The inbox and the Sent folder are always synced; trash, junk and drafts never are."),
    )
    store_sent_on_server = forms.BooleanField(
        label=_("Store sent messages on the server"), required=False,
        help_text=_("Tick it if your provider keeps no copy of mail sent through its SMTP server: "
                    "the CRM then saves a copy in your Sent folder."),
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["folders"].queryset = selectable_extra_folders(account)
        if not account.is_imap:
            # POP3 reads only the inbox, always all of it, and has no Sent folder.
            for name in ("sync_window", "folders", "store_sent_on_server"):
                del self.fields[name]

    @classmethod
    def initial_for(cls, account):
        window = account.sync_window_days
        return {
            "sync_window": str(window) if window else "all",
            "folders": list(selectable_extra_folders(account).filter(is_sync_enabled=True)),
            "store_sent_on_server": account.store_sent_on_server,
        }

    def options(self):
        """Return the keyword arguments of services.update_sync_options."""
        data = self.cleaned_data
        window = data.get("sync_window", "all")
        return {
            "store_sent_on_server": data.get("store_sent_on_server", False),
            "sync_window_days": None if window == "all" else int(window),
            "folder_ids": [folder.pk for folder in data.get("folders", [])],
        }

