from django.urls import path

from calls import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("calls/<uuid:call_id>/", views.call_detail, name="call-detail"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path(
        "campaigns/<int:campaign_id>/<str:action>/",
        views.campaign_control_view,
        name="campaign-control",
    ),
    path("leads/import/", views.lead_import, name="lead-import"),
    path("leads/import/<int:import_id>/", views.lead_import_detail, name="lead-import-detail"),
]
