"""Small typed readers for the environment that refuse bad values loudly.

Settings are read once at start-up; a typo in a deployment should stop the
process with a message naming the variable, not surface later as odd behaviour.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    source = os.environ if environ is None else environ
    value = source.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None or value == "" else value


def env_file(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    """A path to an existing file; unset means `default`, an empty value means none ("")."""
    value = _raw(name, environ)
    if value is None:
        return default
    if value and not Path(value).is_file():
        raise ImproperlyConfigured(f"{name}: no file at {value}")
    return value


def env_bool(name: str, default: bool = False, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {number}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_timezone(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """An IANA timezone name that zoneinfo knows, e.g. America/New_York."""
    value = env_str(name, default, environ=environ)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name} must be an IANA timezone such as America/New_York, got {value!r}") from None
    return value


_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """A request rate as Django REST framework's throttles read it: `<count>/<period>`, e.g. `600/min`."""
    value = env_str(name, default, environ=environ)
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name} must look like 600/min (a count, then s, min, hour or day), got {value!r}")
    return value


def env_url(
    name: str,
    default: str = "",
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str:
    """A URL with one of `schemes` and a host; trailing slashes are dropped."""
    value = env_str(name, default, environ=environ)
    if value == "":
        return ""
    return _checked_url(name, value, schemes)


def env_url_list(name: str, *, schemes: tuple[str, ...], environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated list of URLs, in the order given (for failover)."""
    value = env_str(name, "", environ=environ)
    items = [item.strip() for item in value.split(",")]
    urls = [item for item in items if item]
    if value and len(urls) != len(items):
        raise ImproperlyConfigured(f"{name} has an empty entry: {value!r}")
    return [_checked_url(name, url, schemes) for url in urls]


def _checked_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, got {value!r}"
        )
    return value.rstrip("/")


def local_secret_key(path: Path) -> str:
    """Read, or create once, a random secret key kept in a 0600 file."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
