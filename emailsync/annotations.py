"""Per-account counts as subquery annotations, so a list of accounts stays one query."""

from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import Folder, SyncFailure


def count_per_account(queryset):
    """Return a subquery that counts the rows of `queryset` for the outer account.

    A subquery rather than a join keeps the account rows from multiplying
    when two counts are annotated together.
    """
    counted = queryset.filter(account=OuterRef("pk")).order_by().values("account").annotate(total=Count("pk"))
    return Coalesce(Subquery(counted.values("total")), Value(0), output_field=IntegerField())


def backlog_per_account():
    """Return a subquery summing Folder.backlog for the outer account."""
    summed = (
        Folder.objects.filter(account=OuterRef("pk")).order_by().values("account")
        .annotate(total=Sum("backlog")).values("total")
    )
    return Coalesce(Subquery(summed), Value(0), output_field=IntegerField())


def with_sync_counts(accounts):
    """Annotate `backlog_total` (messages still to fetch) and `failed_total`
    (messages not stored yet) on a MailAccount queryset."""
    return accounts.annotate(
        backlog_total=backlog_per_account(),
        failed_total=count_per_account(SyncFailure.objects.filter(resolved_at__isnull=True)),
    )
