"""Decide which server folders to sync and record them as Folder rows."""

import logging

from . import imap
from .models import Folder

logger = logging.getLogger(__name__)

# Fallbacks for servers without SPECIAL-USE (RFC 6154), compared in lower
# case. Localised names are those of the major webmail providers.
SENT_NAMES = {
    "sent", "sent items", "sent messages", "sent mail", "[gmail]/sent mail", "inbox.sent",
    "inbox/sent", "enviados", "elementos enviados", "correo enviado", "mensajes enviados",
    "[gmail]/enviados", "gesendet", "gesendete elemente", "envoyés", "éléments envoyés",
    "posta inviata",
}
SKIPPED_NAMES = {
    "trash", "deleted items", "deleted messages", "papelera", "elementos eliminados",
    "[gmail]/trash", "[gmail]/papelera", "inbox.trash", "junk", "junk e-mail", "junk email",
    "spam", "bulk mail", "[gmail]/spam", "correo no deseado", "inbox.junk", "drafts",
    "borradores", "[gmail]/drafts", "[gmail]/borradores", "inbox.drafts", "entwürfe",
    "papierkorb",
}
ALWAYS_SYNCED = (Folder.Role.INBOX, Folder.Role.SENT)


def folder_role(info):
    """Decide a listed folder's role from its SPECIAL-USE flags, then its name."""
    name = info.name.lower()
    if name == "inbox":
        return Folder.Role.INBOX
    if info.has_flag(imap.SENT):
        return Folder.Role.SENT
    if any(info.has_flag(flag) for flag in (imap.TRASH, imap.JUNK, imap.DRAFTS)):
        return Folder.Role.SKIPPED
    if info.has_flag(imap.ALL):
        return Folder.Role.ALL_MAIL
    if name in SKIPPED_NAMES:
        return Folder.Role.SKIPPED
    return Folder.Role.OTHER


def _roles(listed):
    roles = {info.name: folder_role(info) for info in listed}
    if Folder.Role.SENT not in roles.values():
        for info in listed:
            if roles[info.name] == Folder.Role.OTHER and info.name.lower() in SENT_NAMES:
                roles[info.name] = Folder.Role.SENT
                break
    return roles


def find_sent_folder(listed):
    """Return the name of the selectable Sent folder among `listed`, or None.

    The same rules as the sync's: the SPECIAL-USE \\Sent flag first, then
    the usual names.
    """
    roles = _roles(listed)
    for info in listed:
        if roles[info.name] == Folder.Role.SENT and info.is_selectable:
            return info.name
    return None


def refresh_folders(account, listed, is_gmail=False):
    """Record the listed folders; return those to sync, INBOX first.

    INBOX and Sent are always synced, plus the folders the user selected.
    On Gmail, "All Mail" holds every label's messages, so it is synced
    too, and X-GM-MSGID keeps a message with several labels stored once.
    \\Noselect folders and Trash, Junk and Drafts are never synced.
    """
    roles = _roles(listed)
    existing = {folder.name: folder for folder in account.folders.all()}

    changed = []
    for info in listed:
        role = roles[info.name]
        folder = existing.get(info.name) or Folder(account=account, name=info.name)
        existing[info.name] = folder
        flags = [flag.decode("ascii", "replace") if isinstance(flag, bytes) else flag for flag in info.flags]
        enabled = folder.is_sync_enabled or role in ALWAYS_SYNCED or (is_gmail and role == Folder.Role.ALL_MAIL)
        state = (info.delimiter, flags, role, info.is_selectable, True, enabled)
        if folder.pk is None or state != (
            folder.delimiter, folder.flags, folder.role, folder.is_selectable,
            folder.exists_on_server, folder.is_sync_enabled,
        ):
            (folder.delimiter, folder.flags, folder.role, folder.is_selectable,
             folder.exists_on_server, folder.is_sync_enabled) = state
            changed.append(folder)
    for folder in changed:
        folder.save()

    listed_names = {info.name for info in listed}
    gone = [folder.pk for name, folder in existing.items() if name not in listed_names and folder.exists_on_server]
    if gone:
        Folder.objects.filter(pk__in=gone).update(exists_on_server=False)
        logger.info("Folders gone from server: account=%s folders=%s", account.pk, gone)

    to_sync = [
        folder for name, folder in existing.items()
        if name in listed_names and folder.is_sync_enabled
        and folder.is_selectable and folder.role != Folder.Role.SKIPPED
    ]
    return sorted(to_sync, key=lambda folder: (folder.role != Folder.Role.INBOX, folder.name))
