"""Console pages for analytics (mounted under /analytics/)."""

from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("latency/", views.latency_page, name="latency"),
    path("cost/", views.cost_page, name="cost"),
    path("export/<slug:report>.csv", views.export_csv, name="export"),
]
