"""One HTTP request to a checked, pinned address.

httpx connects to the address the SSRF guard approved, while the request
carries the endpoint's own name in Host and, for https, in TLS SNI (the
certificate is verified against that name too). No proxies from the
environment (a proxy would resolve the name again) and no redirects (a 3xx
could point anywhere, the metadata service included): a 3xx is a failed
attempt like any other non-2xx answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from webhooks.ssrf import Target

CONNECT_TIMEOUT_S = 3.05
READ_TIMEOUT_S = 10.0
USER_AGENT = "voiceops-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int


def post(*, target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    started = time.monotonic()
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request_headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(target.connect_url, content=body, headers=request_headers, extensions=extensions)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Answer(status_code=None, error=f"{type(exc).__name__}: {exc}"[:300], excerpt="", duration_ms=elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    return Answer(status_code=response.status_code, error="", excerpt=response.text[:500], duration_ms=elapsed)
