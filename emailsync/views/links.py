"""The redirect behind every link of a displayed message (see emailsync.links)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect

from ..activity import record_interaction
from ..links import read_link
from ..models import Message
from .messages import get_visible_message


@login_required
def follow_link(request, pk):
    """Record the click on a link of message `pk`, then redirect to its target.

    Returns 404 for a missing, tampered or foreign signature, a target that
    is not http(s), and a message whose content the viewer may not read.
    A click counts as an interaction only on an incoming message.
    """
    url = read_link(request.GET.get("to"), pk)
    if url is None:
        raise Http404("invalid link")
    message = get_visible_message(request.user, pk)
    if not message.is_content_visible:
        raise Http404("content not shared")

    if message.direction == Message.Direction.RECEIVED:
        record_interaction(request.user)
    response = HttpResponseRedirect(url)
    # The tracking URL must not reach the target site as a Referer.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
