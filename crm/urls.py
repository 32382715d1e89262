from django.urls import path

from . import views
from .kinds import CONTACTS, LEADS

app_name = "crm"


def record_urls(prefix, kind):
    """Return the list, create, detail, edit and delete URLs of one kind of record."""
    name = kind.name
    return [
        path(f"{prefix}/", views.RecordListView.as_view(kind=kind), name=f"{name}_list"),
        path(f"{prefix}/new/", views.RecordCreateView.as_view(kind=kind), name=f"{name}_create"),
        path(f"{prefix}/<int:pk>/", views.RecordDetailView.as_view(kind=kind), name=f"{name}_detail"),
        path(f"{prefix}/<int:pk>/edit/", views.RecordUpdateView.as_view(kind=kind), name=f"{name}_edit"),
        path(f"{prefix}/<int:pk>/delete/", views.RecordDeleteView.as_view(kind=kind), name=f"{name}_delete"),
    ]


urlpatterns = [
    path("", views.home, name="home"),
    path("account/", views.preferences, name="preferences"),
    path("language/", views.switch_language, name="switch_language"),
    *record_urls("leads", LEADS),
    *record_urls("contacts", CONTACTS),
]
