"""Files attached to an email that is not sent yet.

Uploads are stored as DraftAttachment rows under the compose form's draft
key as soon as they arrive, so a form error or a failed send shows the form
again with the files still attached. They go once the email is sent, or
after DRAFT_LIFETIME.
"""

import mimetypes
import re
import secrets
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import DraftAttachment
from .outgoing import OutgoingAttachment

DRAFT_LIFETIME = timedelta(days=1)
DRAFT_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def new_draft_key():
    return secrets.token_hex(16)


def valid_draft_key(value):
    """Return `value` when it is a draft key, else a new one."""
    return value if isinstance(value, str) and DRAFT_KEY_PATTERN.match(value) else new_draft_key()


def kept_attachments(user, draft_key):
    return DraftAttachment.objects.filter(owner=user, draft_key=draft_key).defer("data").order_by("pk")


def keep_uploads(user, draft_key, uploads, kept_ids):
    """Store uploaded files under the draft key and return their rows.

    `kept_ids` are the earlier attachments the user left ticked; they count
    toward EMAILSYNC_MAX_ATTACHMENTS_BYTES with the new files. Raises
    ValidationError, storing nothing, when the total is over that limit.
    """
    limit = settings.EMAILSYNC_MAX_ATTACHMENTS_BYTES
    kept_size = sum(kept_attachments(user, draft_key).filter(pk__in=kept_ids).values_list("size", flat=True))
    total = kept_size + sum(upload.size for upload in uploads)
    if total > limit:
        raise ValidationError(
            _("The attachments add up to %(total)s, more than the %(limit)s allowed. Remove some files and try again.")
            % {"total": filesizeformat(total), "limit": filesizeformat(limit)},
            code="too_large",
        )
    return [
        DraftAttachment.objects.create(
            owner=user, draft_key=draft_key, filename=clean_filename(upload.name),
            content_type=guess_content_type(upload), size=upload.size, data=upload.read(),
        )
        for upload in uploads
    ]


def clean_filename(name):
    """Return the file's base name without control characters, at most 255 characters."""
    name = PurePath(str(name or "").replace("\\", "/")).name
    name = _CONTROL_CHARACTERS.sub("", name).strip()
    return name[-255:] or _("attachment")


def guess_content_type(upload):
    """Return the upload's MIME type: the browser's if well formed, else one guessed from the name."""
    declared = (upload.content_type or "").split(";", 1)[0].strip().lower()
    if _CONTENT_TYPE.match(declared):
        return declared
    guessed, _encoding = mimetypes.guess_type(upload.name or "")
    return guessed or "application/octet-stream"


def load_attachments(user, draft_key, ids):
    """Return the chosen draft attachments as OutgoingAttachment objects, in upload order."""
    rows = DraftAttachment.objects.filter(owner=user, draft_key=draft_key, pk__in=ids).order_by("pk")
    return [OutgoingAttachment(row.filename, row.content_type, bytes(row.data)) for row in rows]


def discard_draft(user, draft_key):
    DraftAttachment.objects.filter(owner=user, draft_key=draft_key).delete()


def delete_stale_drafts():
    """Delete draft attachments older than DRAFT_LIFETIME, of every user."""
    DraftAttachment.objects.filter(created_at__lt=timezone.now() - DRAFT_LIFETIME).delete()
