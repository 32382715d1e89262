"""Presets of popular mail providers: servers, login form and app-password help.

This module is data. Add a provider by adding a `Provider` to PROVIDERS;
the setup pages list them in this order. Operators (and the tests) can
point a preset's servers elsewhere with the setting
EMAILSYNC_PROVIDER_OVERRIDES, a JSON object such as
{"gmail": {"imap_host": "127.0.0.1", "imap_port": 1143, "imap_security": "starttls"}}.

The server names, ports and steps below are those the providers publish
in their help pages; check them there when a provider changes its setup.
NOTE: Microsoft is withdrawing password sign-in for IMAP and SMTP in
favour of OAuth 2.0 on Outlook.com and, tenant by tenant, on Microsoft 365.
Where a server no longer accepts app passwords, the login step fails with
the app-password help, and connecting needs a sign-in flow this module
does not describe.
"""

import dataclasses
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Username forms a provider may expect: the whole address, or the part
# before the "@".
LOGIN_ADDRESS = "address"
LOGIN_LOCAL_PART = "local_part"

SECURITY_VALUES = ("ssl", "starttls", "plain")


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: str  # "ssl", "starttls" or "plain", as emailsync.models.Security


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    # Address domains shown under the name, so users recognise their provider.
    domains: str
    imap: Server
    pop3: Server | None
    smtp: Server
    incoming_login_form: str = LOGIN_ADDRESS
    smtp_login_form: str = LOGIN_ADDRESS
    # The app-specific password help: one sentence of context, then the steps.
    app_password_intro: str = ""
    app_password_steps: tuple = ()
    app_password_url: str = ""
    # True when only an administrator can allow app passwords (work accounts).
    needs_administrator: bool = False
    # What to do when the provider reports IMAP (or POP) access turned off.
    imap_access_help: str = ""

    def incoming(self, protocol):
        """Return the incoming Server for "imap" or "pop3", or None if not offered."""
        return self.pop3 if protocol == "pop3" else self.imap

    @property
    def protocols(self):
        return ("imap", "pop3") if self.pop3 else ("imap",)

    def login_for(self, email_address, form):
        """Return the username this provider expects for email_address."""
        address = email_address.strip()
        if form == LOGIN_LOCAL_PART:
            return address.rpartition("@")[0] or address
        return address


# Yahoo and AOL belong to the same company and share the same steps.
_YAHOO_STEPS = (
    _("Sign in to your account page and open Account info, then Account security."),
    _("Choose Generate app password (or Manage app passwords)."),
    _("Type a name such as “CRM” and choose Generate password."),
    _("Copy the password shown and paste it here."),
)

ZOHO = Provider(
    key="zoho",
    name="Zoho Mail",
    domains="zoho.com, zohomail.com",
    imap=Server("imap.zoho.com", 993, "ssl"),
    pop3=Server("pop.zoho.com", 995, "ssl"),
    smtp=Server("smtp.zoho.com", 465, "ssl"),
    app_password_intro=_(
        "Zoho Mail needs IMAP access turned on, and an app password when two-factor "
        "authentication is on."
    ),
    app_password_steps=(
        _("In Zoho Mail, open Settings, then Mail Accounts, and turn on IMAP access (or POP access if you chose POP3)."),
        _("In your Zoho account page, open Security, then App Passwords."),
        _("Choose Generate New Password, type a name such as “CRM” and confirm."),
        _("Copy the password and paste it here: Zoho shows it only once."),
    ),
    app_password_url="https://accounts.zoho.com/home#security/app_password",
    imap_access_help=_("In Zoho Mail, open Settings, then Mail Accounts, and turn on IMAP access."),
)

# Accounts in Zoho's European data centre live on the .eu servers.
ZOHO_EU = dataclasses.replace(
    ZOHO,
    key="zoho_eu",
    name=_("Zoho Mail (EU data centre)"),
    domains="zoho.eu",
    imap=Server("imap.zoho.eu", 993, "ssl"),
    pop3=Server("pop.zoho.eu", 995, "ssl"),
    smtp=Server("smtp.zoho.eu", 465, "ssl"),
    app_password_url="https://accounts.zoho.eu/home#security/app_password",
)

PROVIDERS = (
    Provider(
        key="gmail",
        name="Gmail",
        domains="gmail.com, Google Workspace",
        imap=Server("imap.gmail.com", 993, "ssl"),
        pop3=Server("pop.gmail.com", 995, "ssl"),
        smtp=Server("smtp.gmail.com", 465, "ssl"),
        app_password_intro=_(
            "Gmail needs an app password when your Google Account uses 2-Step Verification, "
            "and Google offers app passwords only to accounts that use it."
        ),
        app_password_steps=(
            _("Open your Google Account and choose Security."),
            _("Check that 2-Step Verification is on."),
            _("Open App passwords, type a name such as “CRM” and choose Create."),
            _("Copy the 16-letter password and paste it here, without spaces: Google shows it only once."),
        ),
        app_password_url="https://myaccount.google.com/apppasswords",
        imap_access_help=_(
            "In a Google Workspace account, the administrator may have turned IMAP off in the "
            "Admin console: ask them to allow IMAP for your account."
        ),
    ),
    Provider(
        key="outlook",
        name="Outlook.com",
        domains="outlook.com, hotmail.com, live.com",
        imap=Server("outlook.office365.com", 993, "ssl"),
        pop3=Server("outlook.office365.com", 995, "ssl"),
        smtp=Server("smtp-mail.outlook.com", 587, "starttls"),
        app_password_intro=_(
            "Outlook.com needs an app password when two-step verification is on for your "
            "Microsoft account."
        ),
        app_password_steps=(
            _("Sign in to your Microsoft account and open Security."),
            _("Open Advanced security options and turn on two-step verification if it is off."),
            _("Under App passwords, choose Create a new app password."),
            _("Copy the password shown and paste it here."),
        ),
        app_password_url="https://account.live.com/proofs/AppPassword",
        imap_access_help=_(
            "In Outlook.com, open Settings, Mail, Forwarding and IMAP, and turn on "
            "“Let devices and apps use IMAP” (or POP)."
        ),
    ),
    Provider(
        key="microsoft365",
        name="Microsoft 365",
        domains=_("Office 365 work or school accounts"),
        imap=Server("outlook.office365.com", 993, "ssl"),
        pop3=Server("outlook.office365.com", 995, "ssl"),
        smtp=Server("smtp.office365.com", 587, "starttls"),
        app_password_intro=_(
            "With a work or school account, only your Microsoft 365 administrator can make app "
            "passwords available: they must first turn on multi-factor authentication for your "
            "account and allow app passwords."
        ),
        app_password_steps=(
            _("Ask your administrator to turn on multi-factor authentication for your account, "
              "to allow app passwords, and to enable IMAP (or POP) and authenticated SMTP for your mailbox."),
            _("Open the Security info page of your work account."),
            _("Choose Add sign-in method, then App password, and give it a name such as “CRM”."),
            _("Copy the password shown and paste it here."),
        ),
        app_password_url="https://mysignins.microsoft.com/security-info",
        needs_administrator=True,
        imap_access_help=_(
            "Your administrator turns IMAP, POP and authenticated SMTP on or off for each mailbox "
            "in the Microsoft 365 admin center: ask them to enable them for yours."
        ),
    ),
    Provider(
        key="yahoo",
        name="Yahoo Mail",
        domains="yahoo.com, yahoo.es, ymail.com",
        imap=Server("imap.mail.yahoo.com", 993, "ssl"),
        pop3=Server("pop.mail.yahoo.com", 995, "ssl"),
        smtp=Server("smtp.mail.yahoo.com", 465, "ssl"),
        app_password_intro=_("Yahoo Mail lets other programs in only with an app password."),
        app_password_steps=_YAHOO_STEPS,
        app_password_url="https://login.yahoo.com/account/security",
    ),
    ZOHO,
    ZOHO_EU,
    Provider(
        key="icloud",
        name="iCloud Mail",
        domains="icloud.com, me.com, mac.com",
        imap=Server("imap.mail.me.com", 993, "ssl"),
        # iCloud Mail offers no POP3.
        pop3=None,
        smtp=Server("smtp.mail.me.com", 587, "starttls"),
        # Apple: the IMAP username is the name before the "@"; SMTP wants
        # the whole address.
        incoming_login_form=LOGIN_LOCAL_PART,
        app_password_intro=_(
            "iCloud Mail always needs an app-specific password, and your Apple Account must use "
            "two-factor authentication."
        ),
        app_password_steps=(
            _("Sign in to your Apple Account and open Sign-In and Security."),
            _("Choose App-Specific Passwords, then the button to add one."),
            _("Type a name such as “CRM” and confirm with your Apple Account password."),
            _("Copy the password shown and paste it here."),
        ),
        app_password_url="https://account.apple.com/account/manage",
    ),
    Provider(
        key="aol",
        name="AOL Mail",
        domains="aol.com",
        imap=Server("imap.aol.com", 993, "ssl"),
        pop3=Server("pop.aol.com", 995, "ssl"),
        smtp=Server("smtp.aol.com", 465, "ssl"),
        app_password_intro=_("AOL Mail lets other programs in only with an app password."),
        app_password_steps=_YAHOO_STEPS,
        app_password_url="https://login.aol.com/account/security",
    ),
    Provider(
        key="gmx",
        name="GMX",
        domains="gmx.com, gmx.us",
        imap=Server("imap.gmx.com", 993, "ssl"),
        pop3=Server("pop.gmx.com", 995, "ssl"),
        smtp=Server("mail.gmx.com", 587, "starttls"),
        app_password_intro=_(
            "GMX lets other programs in only after you allow it, and needs an application-specific "
            "password when two-factor authentication is on."
        ),
        app_password_steps=(
            _("In GMX webmail, open Settings, then POP3 & IMAP, and allow access through POP3 and IMAP."),
            _("If two-factor authentication is on, open your account's security settings and create an "
              "application-specific password named “CRM”."),
            _("Paste that password here. Without two-factor authentication, use your normal GMX password."),
        ),
        app_password_url="https://www.gmx.com/",
        imap_access_help=_("In GMX webmail, open Settings, then POP3 & IMAP, and allow access through IMAP."),
    ),
)

_OVERRIDABLE = {
    f"{server}_{part}" for server in ("imap", "pop3", "smtp") for part in ("host", "port", "security")
}


def all_providers():
    """Return every preset, with the operator's overrides applied, in display order."""
    overrides = settings.EMAILSYNC_PROVIDER_OVERRIDES or {}
    return [apply_overrides(provider, overrides.get(provider.key, {})) for provider in PROVIDERS]


def get_provider(key):
    """Return the preset named key with overrides applied, or None."""
    return next((provider for provider in all_providers() if provider.key == key), None)


def find_by_host(host):
    """Return the preset whose IMAP, POP3 or SMTP server is host, or None."""
    host = (host or "").lower()
    for provider in all_providers():
        servers = (provider.imap, provider.pop3, provider.smtp)
        if host and any(server and server.host.lower() == host for server in servers):
            return provider
    return None


def apply_overrides(provider, override):
    """Return provider with the servers' host, port or security replaced.

    Raises ImproperlyConfigured for an unknown field or a bad value, so a
    typo in the setting fails loudly instead of reaching the real provider.
    """
    if not isinstance(override, dict):
        raise ImproperlyConfigured(
            f"EMAILSYNC_PROVIDER_OVERRIDES[{provider.key!r}] must be an object of server fields."
        )
    unknown = set(override) - _OVERRIDABLE
    if unknown:
        raise ImproperlyConfigured(
            f"EMAILSYNC_PROVIDER_OVERRIDES[{provider.key!r}] has unknown fields {sorted(unknown)}; "
            f"allowed: {sorted(_OVERRIDABLE)}."
        )
    changes = {}
    for server_name in ("imap", "pop3", "smtp"):
        fields = {
            part: override[f"{server_name}_{part}"]
            for part in ("host", "port", "security") if f"{server_name}_{part}" in override
        }
        if not fields:
            continue
        server = getattr(provider, server_name) or Server("", 0, "ssl")
        changes[server_name] = _checked_server(provider.key, server_name, dataclasses.replace(server, **fields))
    return dataclasses.replace(provider, **changes) if changes else provider


def _checked_server(key, server_name, server):
    if not isinstance(server.host, str) or not server.host:
        raise ImproperlyConfigured(f"EMAILSYNC_PROVIDER_OVERRIDES[{key!r}]: {server_name}_host must be a server name.")
    if not isinstance(server.port, int) or not 1 <= server.port <= 65535:
        raise ImproperlyConfigured(
            f"EMAILSYNC_PROVIDER_OVERRIDES[{key!r}]: {server_name}_port must be a number from 1 to 65535."
        )
    if server.security not in SECURITY_VALUES:
        raise ImproperlyConfigured(
            f"EMAILSYNC_PROVIDER_OVERRIDES[{key!r}]: {server_name}_security must be one of {SECURITY_VALUES}."
        )
    return server
