"""Console forms."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError

from campaigns.models import Campaign, Lead
from campaigns.services import CAMPAIGN_SETTINGS, lead_phone_change_check, lead_phone_normalize

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class LeadImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a phone column; optional timezone, first_name, last_name, consent.")
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.order_by("name"), required=False)
    default_region = forms.CharField(
        max_length=2, initial="US", help_text="Country for numbers written without +country code (ISO 3166)."
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is {upload.size} bytes; the limit is {MAX_UPLOAD_BYTES}.")
        return upload

    def clean_default_region(self) -> str:
        region = str(self.cleaned_data["default_region"]).upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(f"Unknown region {region!r}; use an ISO 3166 code such as US or GB.")
        return region


class LeadFilterForm(forms.Form):
    """The leads page's search and filters; every one optional, a bad value a 400 beside its field."""

    q = forms.CharField(required=False, max_length=120, label="Name or phone")
    status = forms.ChoiceField(required=False, choices=[("", "Any"), *Lead.Status.choices])
    campaign = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    timezone = forms.ChoiceField(required=False)
    field = forms.CharField(required=False, max_length=64, label="Custom field")
    value = forms.CharField(required=False, max_length=200, label="equals")

    def __init__(self, *args: Any, campaigns: list[tuple[int, str]], timezones: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign_field, timezone_field = self.fields["campaign"], self.fields["timezone"]
        assert isinstance(campaign_field, forms.ChoiceField) and isinstance(timezone_field, forms.ChoiceField)
        campaign_field.choices = [("", "Any"), *campaigns]
        timezone_field.choices = [("", "Any"), *((name, name) for name in timezones)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if data.get("value") and not data.get("field"):
            self.add_error("field", "Name the custom field to compare.")
        if "__" in (data.get("field") or ""):
            self.add_error("field", "A custom field name cannot contain a double underscore.")
        return data


class LeadEditForm(forms.ModelForm):
    """The fields an operator edits (campaigns.services.lead_update); the model's validators check them.

    The phone is typed as people write numbers and normalised to E.164 by the
    importer's rule before the model's own checks (canonical form, one lead per number) see it.
    """

    # Wider than the stored E.164 (16): people type spaces, dashes and brackets.
    phone = forms.CharField(
        max_length=40,
        help_text="With its country code (+44 20 7183 8750); without one it is read in the current number's country.",
    )

    class Meta:
        model = Lead
        fields = ["phone", "first_name", "last_name", "timezone", "consent"]
        help_texts = {"timezone": "IANA name, e.g. America/New_York: calls happen in the lead's local window."}

    def clean_phone(self) -> str:
        current = self.instance.phone if self.instance.pk else ""
        phone = lead_phone_normalize(str(self.cleaned_data["phone"]), current=current)
        if self.instance.pk and phone != current:
            try:
                lead_phone_change_check(lead=self.instance, phone=phone)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["phone"]) from None
        return phone


class LeadCustomFieldForm(forms.Form):
    key = forms.SlugField(max_length=64, label="Custom field", help_text="Letters, digits, - and _.")
    value = forms.CharField(max_length=500, required=False)


class CampaignForm(forms.ModelForm):
    """Create or edit a campaign; the campaign rule itself is Campaign.clean, run by campaigns.services.

    `days` and `retry_rules` are JSON fields; the form shows days as checkboxes
    and the retry rules as JSON text, and hands both to the model unchanged.
    """

    days = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        choices=[(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")],
        widget=forms.CheckboxSelectMultiple,
        help_text="Lead-local weekdays; none ticked means every day.",
    )
    retry_rules = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='JSON by outcome, e.g. {"no-answer": {"delay_minutes": 60, "max_attempts": 3}}; empty for defaults.',
    )

    class Meta:
        model = Campaign
        fields = list(CAMPAIGN_SETTINGS)
        widgets = {
            "window_start": forms.TimeInput(attrs={"type": "time"}),
            "window_end": forms.TimeInput(attrs={"type": "time"}),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, versions: Any, experiments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        version_field, experiment_field = self.fields["agent_version"], self.fields["experiment"]
        assert isinstance(version_field, forms.ModelChoiceField)
        assert isinstance(experiment_field, forms.ModelChoiceField)
        version_field.queryset = versions
        version_field.label_from_instance = lambda obj: f"{obj.agent.name} v{obj.number}"  # type: ignore[method-assign]
        version_field.help_text = "A published version; or choose an experiment instead."
        experiment_field.queryset = experiments

    def clean_retry_rules(self) -> Any:
        value = self.cleaned_data.get("retry_rules")
        return {} if value in (None, "") else value

    def _post_clean(self) -> None:
        # The view saves through campaigns.services, which runs Campaign.full_clean;
        # the form only converts the fields (running the rule twice would report it twice).
        pass
