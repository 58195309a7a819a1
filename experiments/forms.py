"""The console's experiment setup form: the experiment's fields, then one row per published version.

The rows are plain inputs named by version id (include_<id>, name_<id>,
weight_<id>, and one `control` radio), so the page works without JavaScript;
the rules themselves are checked by experiment_create, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict

from experiments.selectors import agents_with_published_versions, draft_campaigns, phone_numbers, published_versions
from experiments.services import VariantSpec


class ExperimentSetupForm(forms.Form):
    name = forms.CharField(max_length=120)
    hypothesis = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    agent = forms.ModelChoiceField(queryset=agents_with_published_versions(), empty_label="Choose an agent")
    campaigns = forms.ModelMultipleChoiceField(
        queryset=draft_campaigns(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Draft campaigns of this agent; they run the experiment instead of a fixed version.",
    )
    phone_numbers = forms.ModelMultipleChoiceField(
        queryset=phone_numbers(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Inbound numbers of this agent; callers are matched to a lead by their number.",
    )

    def __init__(self, *args: Any, agent_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaigns = self.fields["campaigns"]
        numbers = self.fields["phone_numbers"]
        assert isinstance(campaigns, forms.ModelMultipleChoiceField)
        assert isinstance(numbers, forms.ModelMultipleChoiceField)
        # Only the chosen agent's campaigns and numbers are offered (the service refuses the others anyway).
        campaigns.queryset = draft_campaigns().filter(agent_version__agent_id=agent_id or 0)
        numbers.queryset = phone_numbers().filter(agent_id=agent_id or 0)


@dataclass
class VariantRow:
    """One published version on the form, with what the operator entered for it."""

    version: Any
    included: bool
    name: str
    weight: str
    is_control: bool


def variant_rows(*, agent_id: int | None, data: QueryDict | None) -> list[VariantRow]:
    """A row per published version of the agent, oldest first; a fresh form includes the two newest,
    the older of them as control (the version running today against its challenger)."""
    versions = list(published_versions().filter(agent_id=agent_id or 0).order_by("number"))
    newest = len(versions) - 1
    rows = []
    for index, version in enumerate(versions):
        if data is None:
            rows.append(
                VariantRow(
                    version=version,
                    included=index >= newest - 1,
                    name=f"v{version.number}",
                    weight="1",
                    is_control=index == max(0, newest - 1),
                )
            )
        else:
            rows.append(
                VariantRow(
                    version=version,
                    included=data.get(f"include_{version.pk}") == "on",
                    name=data.get(f"name_{version.pk}", "").strip(),
                    weight=data.get(f"weight_{version.pk}", "").strip(),
                    is_control=data.get("control") == str(version.pk),
                )
            )
    return rows


def variant_specs(rows: list[VariantRow]) -> tuple[list[VariantSpec], list[str]]:
    """The included rows as the service's specs, and the rows' own input errors (a weight that is no number)."""
    specs, errors = [], []
    for row in rows:
        if not row.included:
            continue
        try:
            weight = int(row.weight)
        except ValueError:
            errors.append(f"{row.name or row.version}: the weight must be a whole number.")
            continue
        specs.append(VariantSpec(name=row.name, agent_version=row.version, weight=weight, is_control=row.is_control))
    return specs, errors
