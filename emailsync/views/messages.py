"""Pages that show stored messages, their attachments and inline images.

Each view finds the message through emailsync.sharing for the requesting
user, so another user's message or part returns 404 whether it exists
or not.
"""

import logging
import re
from dataclasses import replace
from urllib.parse import unquote

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ..activity import record_interaction
from ..attachments import download_response, inline_image_response, read_part
from ..html import rewrite_links, sanitize_email_html
from ..links import make_link_builder
from ..models import Message, Participant
from ..parsing import ensure_body_parsed
from ..problems import describe_parse_problem
from ..related import LIST_DEFERRED_FIELDS
from ..send_failures import copy_failure_message
from ..sharing import content_hidden_reason, mailbox_access, visible_messages

logger = logging.getLogger(__name__)

# Inline image URLs sit in a sandboxed frame whose requests carry no session
# cookie (the frame has an opaque origin, so SameSite=Lax withholds it). A
# signed token names the user instead, for this long.
INLINE_TOKEN_MAX_AGE = 60 * 60
INLINE_TOKEN_SALT = "emailsync.inline-image"

# Messages of one conversation shown on the message page.
CONVERSATION_LIMIT = 100

_POSITION = re.compile(r"^\d{1,4}(?:\.\d{1,4}){0,15}$")
_CID_REFERENCE = re.compile(r"""cid:([^"'\s>]+)""", re.IGNORECASE)


@login_required
def message_detail(request, pk):
    """Show one message that the user may see, with its sanitised HTML body."""
    access = mailbox_access(request.user)
    message = get_visible_message(request.user, pk, access)
    allow_images = request.GET.get("images") == "1"

    context = {
        "message": message,
        "back_url": get_back_url(request),
        "hidden_reason": content_hidden_reason(message, request.user),
        "conversation": conversation_of(message, request.user, access),
    }
    if message.owner_id == request.user.pk:
        context.update(get_owner_details(message))
    if message.is_content_visible:
        context.update(get_message_content(request, message, allow_images))
        if message.direction == Message.Direction.RECEIVED:
            record_interaction(request.user)

    response = render(request, "emailsync/message_detail.html", context)
    response["Content-Security-Policy"] = build_message_page_policy(allow_images)
    return response


@login_required
def message_attachment(request, pk, position):
    """Download one attachment of a message whose content the user may read."""
    message = get_readable_message(request.user, pk)
    part_file = read_listed_part(message, position)
    if message.direction == Message.Direction.RECEIVED:
        record_interaction(request.user)
    logger.info("Attachment downloaded: message=%s part=%s user=%s", message.pk, position, request.user.pk)
    return download_response(part_file, position)


def message_inline_image(request, pk, position):
    """Serve an inline (Content-ID) image of a message to the user its signed token names."""
    user = inline_image_user(request, pk, position)
    message = get_readable_message(user, pk)
    part_file = read_listed_part(message, position)
    response = inline_image_response(part_file, position)
    if response is None:
        raise Http404("Not an inline image")
    return response


def get_owner_details(message):
    """Return the details shown only to the mailbox's owner: Bcc recipients and a failed Sent copy."""
    details = {}
    if message.direction == Message.Direction.SENT:
        bcc = message.participants.filter(role=Participant.Role.BCC).order_by("pk")
        details["bcc_display"] = ", ".join(
            f"{item.display_name} <{item.address}>" if item.display_name else item.address for item in bcc
        )
    if message.server_copy_error and message.account:
        details["server_copy_problem"] = copy_failure_message(message.server_copy_error, message.account.incoming_host)
    return details


def get_visible_message(user, pk, access=None):
    """Return message `pk` if `user` may see it, or raise Http404."""
    return get_object_or_404(visible_messages(user, access).select_related("account", "owner"), pk=pk)


def get_readable_message(user, pk):
    """Return message `pk` if `user` may read its content, or raise Http404.

    A metadata-only share returns 404 too, because its attachments do not
    exist for that reader.
    """
    if user is None or not user.is_authenticated:
        raise Http404("No user")
    message = get_visible_message(user, pk)
    if not message.is_content_visible:
        raise Http404("Content not shared")
    return message


def read_listed_part(message, position):
    """Return the PartFile of a part listed among the message's attachments, or raise Http404."""
    if not _POSITION.match(position):
        raise Http404("Malformed part")
    ensure_body_parsed(message)
    if not any(item.get("part") == position for item in message.attachments):
        raise Http404("No such attachment")
    part_file = read_part(message, position)
    if part_file is None:
        raise Http404("No such part")
    return part_file


def inline_image_token(user, message, position):
    return signing.dumps([user.pk, message.pk, position], salt=INLINE_TOKEN_SALT, compress=False)


def inline_image_user(request, pk, position):
    """Return the user named by a valid token for this part, else the session's user, else None."""
    token = request.GET.get("token")
    if token:
        try:
            user_id, message_id, token_position = signing.loads(
                token, salt=INLINE_TOKEN_SALT, max_age=INLINE_TOKEN_MAX_AGE,
            )
        except (signing.BadSignature, ValueError, TypeError):
            raise Http404("Invalid token") from None
        if message_id != pk or token_position != position:
            raise Http404("Token for another part")
        return get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return request.user if request.user.is_authenticated else None


def inline_image_urls(request, message):
    """Return {Content-ID: absolute URL} for the message's parts that have a Content-ID.

    Absolute, because the sanitiser drops relative URLs (they would resolve
    against the frame's opaque origin).
    """
    urls = {}
    for item in message.attachments:
        content_id = item.get("content_id")
        if not content_id:
            continue
        path = reverse("emailsync:message_inline_image", args=[message.pk, item["part"]])
        token = inline_image_token(request.user, message, item["part"])
        urls[content_id] = request.build_absolute_uri(f"{path}?token={token}")
    return urls


def get_message_content(request, message, allow_images):
    """Parse the body if needed and return the template context for its content.

    The http(s) links of the HTML go through the click-tracking redirect
    (emailsync.links).
    """
    if not message.is_body_parsed:
        ensure_body_parsed(message)

    html = None
    if message.html_body:
        html = sanitize_email_html(message.html_body, allow_images, inline_image_urls(request, message))
        html = replace(html, html=rewrite_links(html.html, make_link_builder(request, message)))
    # The template escapes this whole document into the iframe's srcdoc
    # attribute with force_escape, because rendered templates are marked safe.
    frame = render_to_string("emailsync/message_frame.html", {"html": html.html}) if html else ""
    problems = [describe_parse_problem(code) for code in message.parse_problems]
    attachments = listed_attachments(message)
    return {
        "html": html, "html_frame": frame, "images_allowed": allow_images, "parse_problems": problems,
        "attachment_list": attachments,
    }


def listed_attachments(message):
    """Return the attachments to list: every part but the images the HTML shows by Content-ID."""
    referenced = {unquote(value).strip("<>") for value in _CID_REFERENCE.findall(message.html_body or "")}
    return [item for item in message.attachments if not (item.get("content_id") and item["content_id"] in referenced)]


def conversation_of(message, user, access=None):
    """Return the messages of `message`'s conversation that `user` may see, oldest first.

    One row per message: copies of the same message in several shared
    mailboxes appear once, the user's own copy first.
    """
    if not message.thread_key:
        return []
    messages = (
        visible_messages(user, access).filter(thread_key=message.thread_key)
        .select_related("owner").defer(*LIST_DEFERRED_FIELDS).order_by("sort_date", "pk")[:CONVERSATION_LIMIT]
    )
    shown = {}
    for item in messages:
        key = item.key
        if key not in shown or item.owner_id == user.pk:
            shown[key] = item
    if len(shown) < 2:
        return []
    return sorted(shown.values(), key=lambda item: (item.sort_date, item.pk))


def get_back_url(request):
    """Return the `next` parameter when it points into this site, else None."""
    url = request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return None


def build_message_page_policy(allow_images):
    """Return the Content-Security-Policy of the message page.

    The sanitised HTML sits in an iframe's srcdoc, and a srcdoc document
    inherits this policy, so the policy also applies to the message itself.
    No script runs, nothing loads from elsewhere, and remote images load
    only after the reader asked for them. Inline images come from this
    site ('self'). Style attributes stay allowed because email layouts
    depend on them.
    """
    image_sources = "'self' data: https: http:" if allow_images else "'self' data:"
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        f"img-src {image_sources}",
        "font-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)
