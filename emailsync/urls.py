from django.urls import include, path

from .views import deactivation, messages, setup

app_name = "emailsync"

# Pages under Settings > Channels > Email.
settings_urlpatterns = [
    path("", setup.email_settings, name="settings"),
    path("<int:account_id>/deactivate/", deactivation.deactivate, name="deactivate"),
]

urlpatterns = [
    path("settings/email/", include(settings_urlpatterns)),
    path("messages/<int:pk>/", messages.message_detail, name="message_detail"),
]
