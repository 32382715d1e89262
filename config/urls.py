from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from emailsync.views.health import health_page

ADMIN_URL = getattr(settings, "ADMIN_URL", "admin/")

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    # Before the admin's own URLs, whose last pattern catches every path.
    path(f"{ADMIN_URL}health/", health_page, name="health"),
    path(ADMIN_URL, admin.site.urls),
    path("", include("emailsync.urls")),
    path("", include("crm.urls")),
]
