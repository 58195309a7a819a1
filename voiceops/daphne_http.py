"""Two things daphne's HTTP requests do for every request and nobody uses, turned off.

Measured on the status webhook (issue 13), which Twilio posts to hundreds of
times a second, each costing the event loop's thread CPU that the rest of
the process (live calls' audio included) then waits for:

- Twisted parses every urlencoded POST body into `request.args` (about
  50 us a request, most of it `email.message` reading the Content-Type
  header). daphne never reads `args`: it hands the raw body to the ASGI
  application, which parses it itself (the status door, Django). Twisted's
  own switch for this, `parsePOSTFormSubmission`, is a constructor argument
  of its Request, and daphne builds its `WebRequest` without it.
- Twisted formats a combined-log-format access line for every request and
  writes it to its legacy log, which daphne discards below `-v 2`. daphne's
  own access log (`--access-log`, on stdout at the default verbosity) is a
  separate thing and stays as it is.

Installed from voiceops.asgi, and only in a process daphne runs (importing
the application elsewhere changes nothing in Twisted or daphne).
"""

from __future__ import annotations

import sys
from typing import Any


def install_for_daphne() -> None:
    """Use lean requests in daphne's HTTP protocol (no-op outside a daphne process; idempotent)."""
    if "daphne.http_protocol" not in sys.modules:
        return
    from daphne import http_protocol

    if getattr(http_protocol.WebRequest, "lean", False):
        return

    class LeanWebRequest(http_protocol.WebRequest):  # type: ignore[misc]  # daphne ships no types
        """daphne's request without Twisted's parse of the body into `args`."""

        lean = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parsePOSTFormSubmission", False)
            super().__init__(*args, **kwargs)

    # daphne's HTTPFactory.buildProtocol names its request class through the
    # module, so each new connection's requests are lean from here on.
    http_protocol.WebRequest = LeanWebRequest
    http_protocol.HTTPFactory.log = _no_access_line


def _no_access_line(factory: Any, request: Any) -> None:
    """Twisted's per-request access line, which daphne sends nowhere below -v 2: not formatted at all."""
