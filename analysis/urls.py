"""Console endpoints for post-call analysis (mounted under /analysis/)."""

from django.urls import path

from analysis import views

app_name = "analysis"

urlpatterns = [
    path("calls/<uuid:call_id>/", views.analysis_panel, name="panel"),
    path("calls/<uuid:call_id>/rerun/", views.analysis_rerun, name="rerun"),
]
