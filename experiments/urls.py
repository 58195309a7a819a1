"""Console pages for experiments (mounted under /experiments/)."""

from django.urls import path

from experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.experiment_list, name="list"),
    path("new/", views.experiment_new, name="new"),
    path("<int:experiment_id>/", views.experiment_page, name="detail"),
    path("<int:experiment_id>/start/", views.experiment_start_view, name="start"),
    path("<int:experiment_id>/stop/", views.experiment_stop_view, name="stop"),
]
