"""The operators' health page and its JSON variant for monitoring.

Staff users who may view mailboxes see it after signing in, because it
lists mailbox addresses, owners and pause reasons. Other staff users get a
403, and anyone else signed in a 404, so the page does not reveal that it
exists to them. Monitoring systems may fetch the
JSON variant with the HEALTH_TOKEN bearer token instead. Both return 503
when something needs action now (the task cluster is down), so a plain
HTTP check alerts on it.
"""

import hmac

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from ..health import ACCOUNT_ROWS, ERROR, collect_health

# Fields of each account row that the JSON variant leaves out: monitoring
# systems store what they fetch, and these identify people.
PERSONAL_FIELDS = ("email", "owner", "reason")


@never_cache
def health_page(request):
    """Show the health report as a page, or as JSON with ?format=json."""
    wants_json = request.GET.get("format") == "json"
    if not (wants_json and has_valid_token(request)):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (request.user.is_active and request.user.is_staff):
            raise Http404
        if not can_view_health(request.user):
            raise PermissionDenied

    report = collect_health()
    status = 503 if report["status"] == ERROR else 200
    if wants_json:
        return JsonResponse(json_report(report), status=status, encoder=DjangoJSONEncoder)

    context = {
        **admin.site.each_context(request), "title": "", "report": report,
        "account_rows": report["account_rows"][:ACCOUNT_ROWS],
        "hidden_rows": max(len(report["account_rows"]) - ACCOUNT_ROWS, 0),
    }
    return render(request, "emailsync/health.html", context, status=status)


def can_view_health(user):
    """Return whether a staff user may see the mailboxes the report lists.

    The rule is the admin's for the mailbox list: the view or the change
    permission on mailboxes.
    """
    return user.has_perm("emailsync.view_mailaccount") or user.has_perm("emailsync.change_mailaccount")


def has_valid_token(request):
    """Return whether the request carries the configured bearer token."""
    token = settings.HEALTH_TOKEN
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())


def json_report(report):
    """Return the report without personal data, for monitoring systems."""
    rows = [
        {key: value for key, value in row.items() if key not in PERSONAL_FIELDS}
        for row in report["account_rows"] if row["problem"] != "ok"
    ]
    data = {key: value for key, value in report.items() if key != "account_rows"}
    data["accounts_needing_attention"] = rows[:ACCOUNT_ROWS]
    return data
