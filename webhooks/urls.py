"""Console pages for outbound webhooks (mounted under /webhooks/)."""

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("<int:endpoint_id>/", views.endpoint_page, name="detail"),
    path("<int:endpoint_id>/rotate/", views.endpoint_rotate_view, name="rotate"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete_view, name="delete"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/replay/", views.delivery_replay_view, name="replay"),
]
