"""The SSRF guard: which addresses a webhook may reach.

Checked twice: when an endpoint is saved (a clear error for the operator) and
at every delivery, on the addresses the name resolves to then. The delivery
connects to the address checked here (the DNS answer is pinned), so a name
that resolves to a public address at the check and to 169.254.169.254 a
millisecond later (DNS rebinding) cannot slip through between the two.

Link-local (which holds the cloud metadata service at 169.254.169.254) and the
other clouds' metadata addresses are always refused; loopback and private
networks only with WEBHOOK_ALLOW_PRIVATE_ADDRESSES (receivers on one's own
network, and the tests). Every address a name resolves to must pass: a name
with one public and one private answer is refused, as the client might use
either.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services that are not link-local: Alibaba, Azure's wire server, AWS over IPv6.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("100.100.100.200", "168.63.129.16", "fd00:ec2::254", "192.0.0.192")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice


class UnsafeAddressError(ValueError):
    """The URL may not be reached; the message says why (never contains a secret)."""


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: the checked address, and the name for the Host header and TLS SNI."""

    scheme: str
    host: str
    port: int
    address: IPAddress
    path: str  # path and query, at least "/"

    @property
    def connect_url(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    private = "a loopback or private address (WEBHOOK_ALLOW_PRIVATE_ADDRESSES is off)"
    if address.is_unspecified or address.is_multicast:
        return "not a unicast address"
    if address.is_loopback:  # before is_reserved: ::1 sits in IPv6's reserved ::/8
        return None if allow_private else private
    if address.is_reserved:
        return "a reserved address"
    if address.is_global:
        return None
    if address.is_private or address in _SHARED:
        return None if allow_private else private
    return "not a public address"


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (module-level so tests can stand in for DNS)."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers))


def target_check(url: str, *, allow_private: bool) -> Target:
    """Resolve `url`'s host and check every answer; the Target pins the first."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddressError("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise UnsafeAddressError("the URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeAddressError("the URL's port is not a number from 0 to 65535") from None
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise UnsafeAddressError(f"{host} does not resolve") from None
    if not addresses:
        raise UnsafeAddressError(f"{host} does not resolve")
    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private)
        if reason:
            raise UnsafeAddressError(f"{host} resolves to {address}, {reason}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0], path=path)
