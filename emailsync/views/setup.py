"""Settings > Channels > Email: the mailbox setup pages."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render


@login_required
@permission_required("emailsync.integrate_email", raise_exception=True)
def email_settings(request):
    """Show the entry page of Settings > Channels > Email > Email configuration."""
    # TODO: replace this placeholder with the first step of the mailbox
    # setup wizard (choose a provider).
    return render(request, "emailsync/email_settings.html")
