"""Console pages for agents and their versions (mounted under /agents/)."""

from django.urls import path

from agents import views

app_name = "agents"

urlpatterns = [
    path("", views.agent_list, name="list"),
    path("new/", views.agent_new, name="new"),
    path("<int:agent_id>/", views.agent_detail, name="detail"),
    path("<int:agent_id>/drafts/", views.version_new_draft, name="new_draft"),
    path("<int:agent_id>/diff/", views.version_diff, name="diff"),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("versions/<int:version_id>/edit/", views.version_edit, name="edit"),
    path("versions/<int:version_id>/settings/", views.version_settings, name="settings"),
    path("versions/<int:version_id>/publish/", views.version_publish, name="publish"),
    path("versions/<int:version_id>/rollback/", views.version_rollback, name="rollback"),
]
