from __future__ import annotations

import zoneinfo

from django import forms


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class PreferencesForm(forms.Form):
    timezone = forms.ChoiceField(choices=_timezone_choices, help_text="Times in the console are shown in this zone.")
