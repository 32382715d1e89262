from django.urls import include, path

from . import views

app_name = "emailsync"

# Pages under Settings > Channels > Email.
settings_urlpatterns = [
    path("", views.email_settings, name="settings"),
]

urlpatterns = [
    path("settings/email/", include(settings_urlpatterns)),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
]
