"""The sandbox's simulated carrier as the Twilio REST API of a test: what the product asked it.

Tests used to run a hand-rolled fake of Twilio's REST API; they now talk to
the product's own simulated carrier (sandbox/carrier.py), which answers as
Twilio does and journals every REST request.

    CarrierRequests(base_url, account_sid, auth_token)
        the carrier inside another process (a daphne server's /carrier/), read
        over HTTP from its journal
    LocalCarrier()
        this process's carrier served on a local port (start(), stop()); point
        settings.TWILIO_API_BASE_URL at its base_url

Both list `requests` ({"path", "form"} of each POST since they were made) and
`hangups(call_sid)`.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread

from sandbox import carrier


def _posts(entries: Any) -> list[dict[str, Any]]:
    return [{"path": e["path"], "form": e["form"]} for e in entries if e["method"] == "POST"]


class _Requests:
    def entries(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    @property
    def requests(self) -> list[dict[str, Any]]:
        return _posts(self.entries())

    def hangups(self, call_sid: str) -> list[dict[str, Any]]:
        """The REST requests that ended this call (Status=completed or canceled)."""
        return [r for r in self.requests if r["path"].endswith(f"/Calls/{call_sid}.json") and "Status" in r["form"]]


class CarrierRequests(_Requests):
    """The journal of the carrier at `base_url` (another process's TWILIO_API_BASE_URL), over HTTP."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self.base_url = base_url
        self.account_sid = account_sid
        self.auth_token = auth_token

    def entries(self) -> list[dict[str, Any]]:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Sandbox/Requests.json"
        response = httpx.get(url, auth=(self.account_sid, self.auth_token), timeout=10)
        response.raise_for_status()
        return list(response.json()["requests"])


class LocalCarrier(_Requests):
    """This process's simulated carrier on a local port; `requests` are those made after start().

    The carrier checks this process's settings (SIMULATED_CARRIER, TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN), so the client and the carrier agree whatever a test sets.
    """

    def __init__(self) -> None:
        self.base_url = ""
        self._since = 0
        self._server: LiveServerThread | None = None

    def start(self) -> None:
        if not settings.SIMULATED_CARRIER:
            raise RuntimeError("LocalCarrier needs SIMULATED_CARRIER on in this process")
        server = LiveServerThread("127.0.0.1", StaticFilesHandler)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        self._server = server
        self._since = max((e["seq"] for e in carrier.JOURNAL.after()), default=0)
        self.base_url = f"http://127.0.0.1:{server.port}/carrier"

    def stop(self) -> None:
        if self._server is not None:
            self._server.terminate()
            self._server = None

    def entries(self) -> list[dict[str, Any]]:
        return list(carrier.JOURNAL.after(self._since))
