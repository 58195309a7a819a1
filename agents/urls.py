"""Console pages for agents and their versions (mounted under /agents/)."""

from django.urls import URLPattern

app_name = "agents"

urlpatterns: list[URLPattern] = []
