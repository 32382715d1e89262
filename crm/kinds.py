"""The two kinds of CRM record (Leads and Contacts) as the shared pages see them.

Leads and Contacts have the same pages. Each kind carries its model, its form,
the fields its detail page shows and the sentences its pages use, so the views
and templates serve both without branching on the model.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .forms import ContactForm, LeadForm
from .models import Contact, Lead


@dataclass(frozen=True)
class RecordKind:
    model: type
    form_class: type
    # Fields of this kind alone, shown on the detail page after the common ones.
    extra_fields: tuple
    texts: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.model._meta.model_name

    @property
    def url_names(self):
        """Map each page ("list", "create", "detail", "edit", "delete") to its URL name."""
        actions = ("list", "create", "detail", "edit", "delete")
        return {action: f"crm:{self.name}_{action}" for action in actions}

    def list_url(self):
        return reverse(self.url_names["list"])

    def extra_details(self, record):
        """Return (label, value) pairs of the fields of this kind alone."""
        details = []
        for name in self.extra_fields:
            label = capfirst(record._meta.get_field(name).verbose_name)
            display = getattr(record, f"get_{name}_display", None)
            details.append((label, display() if display else getattr(record, name)))
        return details


LEADS = RecordKind(
    model=Lead,
    form_class=LeadForm,
    extra_fields=("status",),
    texts={
        "list_title": _("Leads"),
        "create_title": _("New lead"),
        "edit_title": _("Edit lead"),
        "delete_title": _("Delete lead"),
        "empty": _("No leads yet. Create the first one to start tracking it."),
        "delete_question": _("Delete the lead “%(name)s” and its secondary email addresses?"),
        "created": _("Lead “%(name)s” created."),
        "saved": _("Lead “%(name)s” saved."),
        "deleted": _("Lead “%(name)s” deleted."),
        "reassigned": _("Lead “%(name)s” saved. It now belongs to %(owner)s, so it no longer appears in your list."),
    },
)

CONTACTS = RecordKind(
    model=Contact,
    form_class=ContactForm,
    extra_fields=("title",),
    texts={
        "list_title": _("Contacts"),
        "create_title": _("New contact"),
        "edit_title": _("Edit contact"),
        "delete_title": _("Delete contact"),
        "empty": _("No contacts yet. Create the first one to start tracking it."),
        "delete_question": _("Delete the contact “%(name)s” and its secondary email addresses?"),
        "created": _("Contact “%(name)s” created."),
        "saved": _("Contact “%(name)s” saved."),
        "deleted": _("Contact “%(name)s” deleted."),
        "reassigned": _("Contact “%(name)s” saved. It now belongs to %(owner)s, so it no longer appears in your list."),
    },
)
