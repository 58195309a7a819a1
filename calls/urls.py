"""The console's pages (namespace `console`): calls, and the campaign pages from the campaigns app."""

from django.urls import path

from accounts import views as account_views
from calls import test_calls, views
from campaigns import views as campaign_views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", account_views.preferences, name="preferences"),
    path("calls/live/", views.live_calls, name="live-calls"),
    path("calls/<uuid:call_id>/", views.call_detail, name="call-detail"),
    path("calls/<uuid:call_id>/<str:command>/", views.call_command, name="call-command"),
    path("test-calls/<int:version_id>/", test_calls.test_call_page, name="test-call"),
    path("test-calls/<int:version_id>/simulate/", test_calls.simulated_caller_start, name="simulated-caller"),
    path("campaigns/", campaign_views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_detail, name="campaign-detail"),
    path(
        "campaigns/<int:campaign_id>/<str:action>/",
        campaign_views.campaign_control_view,
        name="campaign-control",
    ),
    path("leads/import/", campaign_views.lead_import, name="lead-import"),
    path("leads/import/<int:import_id>/", campaign_views.lead_import_detail, name="lead-import-detail"),
]
