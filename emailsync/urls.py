from django.urls import include, path

from .views import compose, links, messages, setup

app_name = "emailsync"

# Pages under Settings > Channels > Email.
settings_urlpatterns = [
    path("", setup.email_settings, name="settings"),
]

urlpatterns = [
    path("settings/email/", include(settings_urlpatterns)),
    path("messages/<int:pk>/", messages.message_detail, name="message_detail"),
    path("messages/<int:pk>/reply/", compose.reply, name="reply"),
    path("messages/<int:pk>/link/", links.follow_link, name="follow_link"),
    path("messages/<int:pk>/save-copy/", compose.retry_server_copy, name="retry_server_copy"),
    path("leads/<int:pk>/email/", compose.compose_to_record, {"kind_name": "lead"}, name="compose_lead"),
    path("contacts/<int:pk>/email/", compose.compose_to_record, {"kind_name": "contact"}, name="compose_contact"),
]
