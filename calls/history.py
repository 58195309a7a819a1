"""Call history: the filter form and the query behind /calls/.

Full-text search over transcripts runs on PostgreSQL's text search:
`websearch_to_tsquery` (quotes for phrases, `or`, `-word`) against the
turns' stored `to_tsvector('english', text)` (the generated column
`text_search`, GIN-indexed as `callturn_text_fts`, calls migration 0007), so
a search reads the index instead of parsing a million transcripts. The calls are picked with an
`IN (subquery)`, which PostgreSQL runs as one semi-join over the index's
matches. On the embedded SQLite default there is no text search: the same
box does a plain case-insensitive substring match, slower but correct.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agents.selectors import agents_for_choice, versions_for_choice
from calls.models import Call, CallTurn

SEARCH_CONFIG = "english"


def turns_matching(text: str) -> QuerySet[CallTurn, Any]:
    """Turns whose text matches a search: PostgreSQL full text (GIN-indexed), a substring match elsewhere."""
    if connection.vendor == "postgresql":
        # `text_search` is the generated tsvector column of calls migration 0007 (not a model field:
        # the ORM never writes it), unqualified so it resolves inside the aliased subquery of
        # calls_history; the query text is a parameter.
        match = RawSQL(
            "text_search @@ websearch_to_tsquery(%s::regconfig, %s)",
            (SEARCH_CONFIG, text),
            output_field=BooleanField(),
        )
        turns = CallTurn.objects.filter(match)
    else:
        turns = CallTurn.objects.filter(text__icontains=text)
    # No ordering: the default one joins the calls table for nothing.
    return turns.order_by()


class CallHistoryForm(forms.Form):
    """The history page's filters; every one optional. A bad value is a 400 with the field's error."""

    q = forms.CharField(required=False, max_length=200, label="Transcript contains")
    agent = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    campaign = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    direction = forms.ChoiceField(required=False, choices=[("", "Any"), *Call.Direction.choices])
    disposition = forms.CharField(required=False, max_length=40)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    min_duration = forms.IntegerField(required=False, min_value=0, label="Min s")
    max_duration = forms.IntegerField(required=False, min_value=0, label="Max s")

    def __init__(self, *args: Any, campaigns: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agent_field = self.fields["agent"]
        version_field = self.fields["version"]
        campaign_field = self.fields["campaign"]
        assert isinstance(agent_field, forms.ChoiceField)
        assert isinstance(version_field, forms.ChoiceField)
        assert isinstance(campaign_field, forms.ChoiceField)
        agent_field.choices = [("", "Any"), *((a.pk, a.name) for a in agents_for_choice())]
        version_field.choices = [
            ("", "Any"),
            *((v.pk, f"{v.agent.name} v{v.number}") for v in versions_for_choice()),
        ]
        campaign_field.choices = [("", "Any"), *campaigns]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        low, high = data.get("min_duration"), data.get("max_duration")
        if low is not None and high is not None and high < low:
            self.add_error("max_duration", "The maximum is below the minimum.")
        return data


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of a date in the operator's timezone (the one active for the request)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def calls_history(filters: dict[str, Any]) -> QuerySet[Call]:
    """Calls matching the form's cleaned filters, newest first, with what a row shows."""
    calls = Call.objects.select_related("agent_version__agent", "lead", "campaign").order_by("-created_at", "-id")
    if filters.get("agent") is not None:
        calls = calls.filter(agent_version__agent_id=filters["agent"])
    if filters.get("version") is not None:
        calls = calls.filter(agent_version_id=filters["version"])
    if filters.get("campaign") is not None:
        calls = calls.filter(campaign_id=filters["campaign"])
    if filters.get("direction"):
        calls = calls.filter(direction=filters["direction"])
    if filters.get("disposition"):
        calls = calls.filter(disposition=filters["disposition"].strip())
    if filters.get("date_from"):
        calls = calls.filter(created_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        calls = calls.filter(created_at__lt=_day_start(filters["date_to"] + dt.timedelta(days=1)))
    if filters.get("min_duration") is not None:
        calls = calls.filter(duration_seconds__gte=filters["min_duration"])
    if filters.get("max_duration") is not None:
        calls = calls.filter(duration_seconds__lte=filters["max_duration"])
    text = (filters.get("q") or "").strip()
    if text:
        calls = calls.filter(pk__in=turns_matching(text).values("call_id"))
    return calls
