"""Pages that show stored messages."""

from dataclasses import replace

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme

from ..activity import record_interaction
from ..html import rewrite_links, sanitize_email_html
from ..links import make_link_builder
from ..models import Message, Participant
from ..parsing import ensure_body_parsed
from ..problems import describe_parse_problem
from ..send_failures import copy_failure_message
from ..sharing import annotate_content_visibility, visible_messages


@login_required
def message_detail(request, pk):
    """Show one message that the user may see, with its sanitised HTML body."""
    message = get_visible_message(request.user, pk)
    allow_images = request.GET.get("images") == "1"

    context = {"message": message, "back_url": get_back_url(request)}
    if message.owner_id == request.user.pk:
        context.update(get_owner_details(message))
    if message.is_content_visible:
        context.update(get_message_content(message, allow_images, make_link_builder(request, message)))
        if message.direction == Message.Direction.RECEIVED:
            record_interaction(request.user)

    response = render(request, "emailsync/message_detail.html", context)
    response["Content-Security-Policy"] = build_message_page_policy(allow_images)
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


def get_visible_message(user, pk):
    """Return message `pk` if `user` may see it, or raise Http404."""
    messages = annotate_content_visibility(visible_messages(user), user)
    return get_object_or_404(messages.select_related("account", "owner"), pk=pk)


def get_message_content(message, allow_images, build_link):
    """Parse the body if needed and return the template context for its content.

    `build_link(url)` returns the click-tracking URL of each http(s) link.
    """
    if not message.is_body_parsed:
        ensure_body_parsed(message)

    html = sanitize_email_html(message.html_body, allow_images) if message.html_body else None
    if html is not None:
        html = replace(html, html=rewrite_links(html.html, build_link))
    # The template escapes this whole document into the iframe's srcdoc
    # attribute with force_escape, because rendered templates are marked safe.
    frame = render_to_string("emailsync/message_frame.html", {"html": html.html}) if html else ""
    problems = [describe_parse_problem(code) for code in message.parse_problems]
    return {"html": html, "html_frame": frame, "images_allowed": allow_images, "parse_problems": problems}


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
    only after the reader asked for them. Style attributes stay allowed
    because email layouts depend on them.
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
