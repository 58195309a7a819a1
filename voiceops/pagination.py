"""The API's pagination: DRF's limit/offset with bounds, so no number a client sends reaches the database raw.

Unbounded, `?limit=99999999999999999999999` became a LIMIT that SQLite cannot
hold (OverflowError, a 500), and a huge limit asks for every row at once.
"""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# Past the last row anyway, and far inside both databases' 64-bit integers.
MAX_OFFSET = 2**53


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 500  # a larger ?limit= is served as 500

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
