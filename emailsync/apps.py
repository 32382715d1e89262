from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailsyncConfig(AppConfig):
    name = "emailsync"
    verbose_name = _("Email")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
