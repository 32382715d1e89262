from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import generic
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from emailsync.models import MailAccount
from emailsync.related import build_email_list

from .forms import PreferencesForm
from .models import Contact, Lead, Licence, Profile

# Rows per page of the record lists and of the Emails related list.
PAGE_SIZE = 25


@login_required
def home(request):
    return render(request, "crm/home.html", {
        "lead_count": Lead.objects.filter(owner=request.user).count(),
        "contact_count": Contact.objects.filter(owner=request.user).count(),
        "mailbox": MailAccount.objects.filter(owner=request.user).first(),
    })


class RecordViewMixin(LoginRequiredMixin):
    """The base of every Lead and Contact page.

    `kind` (a crm.kinds.RecordKind, passed to as_view) selects the model. The
    queryset contains only the records the user may see, so other records
    return 404.
    """

    kind = None

    @property
    def model(self):
        return self.kind.model

    def get_queryset(self):
        return self.kind.model.objects.visible_to(self.request.user).select_related("owner")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("kind", self.kind)
        return super().get_context_data(**kwargs)


class RecordPermissionMixin:
    """Raise PermissionDenied (403) unless `record.<required_check>(user)` allows the action."""

    required_check = None

    def get_object(self, queryset=None):
        record = super().get_object(queryset)
        if not getattr(record, self.required_check)(self.request.user):
            raise PermissionDenied
        return record


class RecordListView(RecordViewMixin, generic.ListView):
    template_name = "crm/record_list.html"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        return super().get_queryset().search(self.request.GET.get("q"))

    def get_context_data(self, **kwargs):
        return super().get_context_data(query=self.request.GET.get("q", "").strip(), **kwargs)


class RecordDetailView(RecordViewMixin, generic.DetailView):
    template_name = "crm/record_detail.html"

    def get_context_data(self, **kwargs):
        record, user, query = self.object, self.request.user, self.request.GET
        emails = build_email_list(
            record, user, selected=query.get("owner"), query=query.get("q", "").strip(),
            page_number=query.get("page"), page_size=PAGE_SIZE,
        )
        return super().get_context_data(
            email_list=emails,
            email_page=emails.page,
            extra_details=self.kind.extra_details(record),
            secondary_emails=list(record.secondary_emails.order_by("pk")),
            can_edit=record.can_edit(user),
            can_delete=record.can_delete(user),
            **kwargs,
        )


class RecordFormMixin(RecordViewMixin):
    template_name = "crm/record_form.html"
    # Key in kind.texts of the message shown after a successful save.
    success_text = None

    def get_form_class(self):
        return self.kind.form_class

    def form_valid(self, form):
        self.object = form.save()
        return redirect(self.get_success_url())

    def get_success_url(self):
        """Return the record's page, or the list when the user can no longer see it."""
        record = self.object
        texts = self.kind.texts
        if self.get_queryset().filter(pk=record.pk).exists():
            messages.success(self.request, texts[self.success_text] % {"name": record})
            return record.get_absolute_url()

        owner = record.owner.get_full_name() or record.owner.get_username()
        messages.info(self.request, texts["reassigned"] % {"name": record, "owner": owner})
        return self.kind.list_url()


class RecordCreateView(RecordFormMixin, generic.CreateView):
    success_text = "created"

    def get_initial(self):
        return {"owner": self.request.user}


class RecordUpdateView(RecordPermissionMixin, RecordFormMixin, generic.UpdateView):
    required_check = "can_edit"
    success_text = "saved"


class RecordDeleteView(RecordPermissionMixin, RecordViewMixin, generic.DeleteView):
    template_name = "crm/record_confirm_delete.html"
    required_check = "can_delete"

    def get_context_data(self, **kwargs):
        question = self.kind.texts["delete_question"] % {"name": self.object}
        return super().get_context_data(delete_question=question, **kwargs)

    def form_valid(self, form):
        name = str(self.object)
        self.object.delete()
        messages.success(self.request, self.kind.texts["deleted"] % {"name": name})
        return redirect(self.kind.list_url())


@login_required
def preferences(request):
    profile, _created = Profile.objects.get_or_create(user=request.user)
    form = PreferencesForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        if profile.language:
            translation.activate(profile.language)
        messages.success(request, _("Your preferences are saved."))
        response = redirect("crm:preferences")
        remember_language(response, profile.language)
        return response

    licence = Licence.objects.filter(user=request.user).first()
    return render(request, "crm/preferences.html", {"form": form, "licence": licence})


def remember_language(response, language):
    """Set the language cookie to the saved preference, or clear it for "follow the browser".

    The cookie keeps the login page in the user's language after they log out.
    """
    if not language:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
        )
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_POST
def switch_language(request):
    """Apply the language chosen in the menu through Django's set_language.

    A saved preference in the user's profile wins over the cookie that
    set_language writes, so a signed-in user who saved a language gets the
    new choice saved there as well.
    """
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        Profile.objects.filter(user=request.user).exclude(language="").update(language=language)
    return set_language(request)
