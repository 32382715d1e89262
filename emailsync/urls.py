from django.urls import include, path, register_converter

from .views import messages, setup, sharing


class PartPositionConverter:
    """A MIME part's IMAP-style position: "2", "1.3.2"."""

    regex = r"[0-9]{1,4}(?:\.[0-9]{1,4}){0,15}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(PartPositionConverter, "part")

app_name = "emailsync"

# Pages under Settings > Channels > Email.
settings_urlpatterns = [
    path("", setup.email_settings, name="settings"),
    path("sharing/", sharing.sharing_settings, name="sharing"),
]

urlpatterns = [
    path("settings/email/", include(settings_urlpatterns)),
    path("messages/<int:pk>/", messages.message_detail, name="message_detail"),
    path("messages/<int:pk>/attachments/<part:position>/", messages.message_attachment, name="message_attachment"),
    path("messages/<int:pk>/inline/<part:position>/", messages.message_inline_image, name="message_inline_image"),
]
