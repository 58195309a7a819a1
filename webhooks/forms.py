"""The console's endpoint form (the services apply the rules; this only collects input)."""

from __future__ import annotations

from django import forms

from webhooks.models import Event


class EndpointForm(forms.Form):
    url = forms.URLField(max_length=2000, label="URL", assume_scheme="https")
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(max_length=200, required=False)
