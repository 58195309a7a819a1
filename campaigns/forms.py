"""Console forms."""

from __future__ import annotations

import phonenumbers
from django import forms

from campaigns.models import Campaign

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
