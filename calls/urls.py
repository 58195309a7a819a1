"""The console's pages (namespace `console`): dashboard, calls, and the campaigns app's campaign and lead pages."""

from django.urls import path

from accounts import views as account_views
from calls import recording_views, test_calls, views
from campaigns import lead_views
from campaigns import views as campaign_views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard_figures, name="dashboard"),
    path("dashboard/alerts/", views.dashboard_alerts, name="dashboard-alerts"),
    path("settings/", account_views.preferences, name="preferences"),
    path("settings/browser-timezone/", account_views.browser_timezone, name="browser-timezone"),
    path("calls/", views.call_history, name="call-history"),
    path("calls/live/", views.live_calls, name="live-calls"),
    path("calls/<uuid:call_id>/", views.call_detail, name="call-detail"),
    path("calls/<uuid:call_id>/recording/", recording_views.call_recording, name="call-recording"),
    path("calls/<uuid:call_id>/<str:command>/", views.call_command, name="call-command"),
    path("test-calls/<int:version_id>/", test_calls.test_call_page, name="test-call"),
    path("test-calls/<int:version_id>/simulate/", test_calls.simulated_caller_start, name="simulated-caller"),
    path("campaigns/", campaign_views.campaigns, name="campaigns"),
    path("campaigns/new/", campaign_views.campaign_new, name="campaign-new"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_detail, name="campaign-detail"),
    # Before the control pattern, which would read "edit" as an action.
    path("campaigns/<int:campaign_id>/edit/", campaign_views.campaign_edit, name="campaign-edit"),
    path(
        "campaigns/<int:campaign_id>/<str:action>/",
        campaign_views.campaign_control_view,
        name="campaign-control",
    ),
    path("leads/", lead_views.lead_list, name="leads"),
    path("leads/export.csv", lead_views.lead_export, name="lead-export"),
    path("leads/assign/", lead_views.leads_assign, name="leads-assign"),
    path("leads/<int:lead_id>/", lead_views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/edit/", lead_views.lead_edit, name="lead-edit"),
    path("leads/<int:lead_id>/do-not-call/", lead_views.lead_do_not_call, name="lead-do-not-call"),
    path("leads/import/", campaign_views.lead_import, name="lead-import"),
    path("leads/import/<int:import_id>/", campaign_views.lead_import_detail, name="lead-import-detail"),
]
