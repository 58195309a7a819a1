"""The SSRF guard's address rules and URL checks (the stand-in DNS plays the resolver)."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.ssrf import UnsafeAddressError, address_refusal, target_check


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.1.1", "fe80::1", "::ffff:169.254.169.254", "100.100.100.200", "fd00:ec2::254"],
)
def test_link_local_and_metadata_addresses_are_refused_even_with_private_allowed(address):
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "fd12::1"])
def test_loopback_and_private_only_when_allowed(address):
    assert address_refusal(ipaddress.ip_address(address), allow_private=False) is not None
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "240.0.0.1"])  # noqa: S104  (addresses to refuse, nothing binds)
def test_addresses_that_are_not_unicast_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is not None


def test_a_public_address_passes_and_is_pinned(dns):
    dns["hooks.example.com"] = ["93.184.216.34"]
    target = target_check("https://hooks.example.com/in?x=1", allow_private=False)
    assert target.connect_url == "https://93.184.216.34:443/in?x=1"
    assert (target.host_header, target.host) == ("hooks.example.com", "hooks.example.com")


def test_a_name_with_one_private_answer_among_public_ones_is_refused(dns):
    dns["mixed.example.com"] = ["93.184.216.34", "10.0.0.5"]
    with pytest.raises(UnsafeAddressError, match=r"10\.0\.0\.5"):
        target_check("https://mixed.example.com/", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/", "http"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8000/", "loopback"),
        ("https://nowhere.invalid/", "does not resolve"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(dns, url, reason):
    with pytest.raises(UnsafeAddressError, match=reason):
        target_check(url, allow_private=False)
