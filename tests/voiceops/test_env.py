import pytest
from django.core.exceptions import ImproperlyConfigured

from voiceops.env import (
    env_bool,
    env_choice,
    env_int,
    env_str,
    env_timezone,
    env_url,
    env_url_list,
    local_secret_key,
)


def test_env_bool_accepts_common_spellings():
    assert env_bool("X", environ={"X": "yes"}) is True
    assert env_bool("X", environ={"X": "OFF"}) is False
    assert env_bool("X", True, environ={}) is True


def test_env_bool_refuses_garbage():
    with pytest.raises(ImproperlyConfigured, match="X must be a boolean"):
        env_bool("X", environ={"X": "maybe"})


def test_env_int_refuses_non_numbers_and_out_of_range():
    assert env_int("N", 3, environ={"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env_int("N", 3, environ={"N": "seven"})
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})
    with pytest.raises(ImproperlyConfigured, match="at most 10"):
        env_int("N", 3, maximum=10, environ={"N": "11"})


def test_env_choice_refuses_unknown_values():
    assert env_choice("D", "cpu", ("cpu", "cuda"), environ={"D": "cuda"}) == "cuda"
    with pytest.raises(ImproperlyConfigured, match="D must be one of cpu, cuda"):
        env_choice("D", "cpu", ("cpu", "cuda"), environ={"D": "tpu"})


def test_env_url_checks_scheme_and_host_and_strips_slash():
    assert env_url("U", schemes=("https",), environ={"U": "https://voice.example.com/"}) == "https://voice.example.com"
    with pytest.raises(ImproperlyConfigured, match="U must be a URL"):
        env_url("U", schemes=("https",), environ={"U": "ftp://example.com"})
    with pytest.raises(ImproperlyConfigured, match="U must be a URL"):
        env_url("U", schemes=("https",), environ={"U": "https://"})


def test_env_url_list_keeps_failover_order_and_refuses_empty_entries():
    urls = env_url_list("L", schemes=("http",), environ={"L": "http://a:8000/v1, http://b:8000/v1"})
    assert urls == ["http://a:8000/v1", "http://b:8000/v1"]
    assert env_url_list("L", schemes=("http",), environ={}) == []
    with pytest.raises(ImproperlyConfigured, match="empty entry"):
        env_url_list("L", schemes=("http",), environ={"L": "http://a,,http://b"})


def test_env_str_default_for_blank():
    assert env_str("S", "dflt", environ={"S": "  "}) == "dflt"


def test_local_secret_key_is_created_once_and_private(tmp_path):
    path = tmp_path / "secret_key"
    first = local_secret_key(path)
    assert len(first) >= 50
    assert local_secret_key(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_env_timezone_takes_iana_names_and_refuses_others():
    assert env_timezone("TZ_X", "UTC", environ={}) == "UTC"
    assert env_timezone("TZ_X", "UTC", environ={"TZ_X": "America/New_York"}) == "America/New_York"
    for bad in ("Mars/Olympus", "../etc/passwd", "EST5EDT,M3"):
        with pytest.raises(ImproperlyConfigured, match="TZ_X"):
            env_timezone("TZ_X", "UTC", environ={"TZ_X": bad})
