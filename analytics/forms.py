"""The analytics filter bar: date range, agent, version, campaign, and the lead-field breakdown.

One parser for the console pages, the API and the CSV export, so the same
query string means the same figures everywhere. Bad values are reported by
field (a 400 from every entry point), never guessed around.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from analytics.selectors import (
    DEFAULT_RANGE_DAYS,
    DIMENSIONS,
    MAX_RANGE_DAYS,
    Filters,
    filter_agents,
    filter_campaigns,
    filter_versions,
)


class AnalyticsFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    agent = forms.ModelChoiceField(queryset=filter_agents(), required=False, empty_label="All agents")
    version = forms.ModelChoiceField(queryset=filter_versions(), required=False, empty_label="All versions")
    campaign = forms.ModelChoiceField(queryset=filter_campaigns(), required=False, empty_label="All campaigns")
    dimension = forms.ChoiceField(
        choices=[("version", "Version"), ("campaign", "Campaign"), ("source", "Lead source")],
        required=False,
        label="Rates by",
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["version"].label_from_instance = lambda v: f"{v.agent.name} v{v.number}"  # type: ignore[attr-defined]
        # The choice lists are read per request: new agents and campaigns appear without a restart.
        self.fields["agent"].queryset = filter_agents()  # type: ignore[attr-defined]
        self.fields["version"].queryset = filter_versions()  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = filter_campaigns()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        end = data.get("end") or self.today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if start > end:
            raise ValidationError({"start": "The start date is after the end date."})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError({"start": f"Choose at most {MAX_RANGE_DAYS} days."})
        version = data.get("version")
        agent = data.get("agent")
        if version is not None and agent is not None and version.agent_id != agent.pk:
            raise ValidationError({"version": "That version belongs to another agent."})
        data["start"], data["end"] = start, end
        data["dimension"] = data.get("dimension") or "version"
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            start=data["start"],
            end=data["end"],
            agent_id=data["agent"].pk if data.get("agent") else None,
            version_id=data["version"].pk if data.get("version") else None,
            campaign_id=data["campaign"].pk if data.get("campaign") else None,
        )

    @property
    def chosen_dimension(self) -> str:
        value = self.cleaned_data.get("dimension") or "version"
        return value if value in DIMENSIONS else "version"

    def error_messages(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in errors] for name, errors in self.errors.items()}
