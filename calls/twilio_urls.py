"""Twilio webhooks, mounted under /twilio/. Filled in by the call engine and dialer issues."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
