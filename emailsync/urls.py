from django.urls import include, path, register_converter

from .views import (
    compose, deactivation, from_address_confirmation, links, mailbox, mailbox_settings, messages, oauth, setup,
)


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
    path("connect/custom/", setup.custom_server, name="connect_custom"),
    path("connect/<slug:key>/", setup.provider_address, name="connect_provider"),
    path("connect/<slug:key>/password/", setup.provider_password, name="connect_password"),
    path("connect/<slug:key>/sign-in/", oauth.oauth_start, name="connect_oauth"),
    path("oauth/callback/", oauth.oauth_callback, name="oauth_callback"),
    path("mailbox/", mailbox.mailbox, name="mailbox"),
    path("mailbox/progress/", mailbox.progress, name="progress"),
    path("mailbox/sync/", mailbox.sync_now, name="sync_now"),
    path("mailbox/reconnect/", oauth.oauth_reconnect, name="oauth_reconnect"),
    path("mailbox/from/", mailbox_settings.from_addresses, name="from_addresses"),
    path("mailbox/from/<int:pk>/default/", mailbox_settings.from_address_default, name="from_address_default"),
    path("mailbox/from/<int:pk>/remove/", mailbox_settings.from_address_remove, name="from_address_remove"),
    path("mailbox/from/<int:pk>/resend/", from_address_confirmation.from_address_resend, name="from_address_resend"),
    path("mailbox/from/confirm/<str:token>/", from_address_confirmation.from_address_confirm,
         name="from_address_confirm"),
    path("mailbox/servers/", mailbox_settings.server_details, name="server_details"),
    path("mailbox/servers/edit/", mailbox_settings.server_edit, name="server_edit"),
    path("mailbox/sharing/", mailbox_settings.sharing, name="sharing"),
    path("mailbox/options/", mailbox_settings.sync_options, name="sync_options"),
    path("mailbox/options/folders/", mailbox_settings.refresh_folders, name="refresh_folders"),
    path("<int:account_id>/deactivate/", deactivation.deactivate, name="deactivate"),
]

urlpatterns = [
    path("settings/email/", include(settings_urlpatterns)),
    path("messages/<int:pk>/", messages.message_detail, name="message_detail"),
    path("messages/<int:pk>/attachments/<part:position>/", messages.message_attachment, name="message_attachment"),
    path("messages/<int:pk>/inline/<part:position>/", messages.message_inline_image, name="message_inline_image"),
    path("messages/<int:pk>/reply/", compose.reply, name="reply"),
    path("messages/<int:pk>/link/", links.follow_link, name="follow_link"),
    path("messages/<int:pk>/save-copy/", compose.retry_server_copy, name="retry_server_copy"),
    path("leads/<int:pk>/email/", compose.compose_to_record, {"kind_name": "lead"}, name="compose_lead"),
    path("contacts/<int:pk>/email/", compose.compose_to_record, {"kind_name": "contact"}, name="compose_contact"),
]
