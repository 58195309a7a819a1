from django.urls import path

from calls import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("calls/<uuid:call_id>/", views.call_detail, name="call-detail"),
]
