"""A paginator whose count stops at a cap, for searches over large tables.

Counting every call whose transcript mentions a common word means reading
every matching row; the operator needs the first pages and to know there are
"more than 1,000". The count runs as `SELECT COUNT(*) FROM (... LIMIT cap + 1)`,
so PostgreSQL stops reading as soon as it has seen enough rows.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 1000


class CappedPaginator(Paginator):  # type: ignore[type-arg]  # Django's class is not subscriptable at run time
    """`count` is at most `cap + 1`; `capped` says whether the real count is larger than `cap`."""

    def __init__(self, *args: Any, cap: int | None = None, **kwargs: Any) -> None:
        self.cap = COUNT_CAP if cap is None else cap
        super().__init__(*args, **kwargs)

    @cached_property
    def count(self) -> int:
        window: Any = self.object_list[: self.cap + 1]  # a sliced queryset: COUNT over a LIMIT subquery
        return int(window.count())

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def paginator_for(object_list: Any, per_page: int, *, searching: bool) -> Paginator[Any]:
    """A text search gets the capped count; a plain list counts exactly (every page stays reachable)."""
    return CappedPaginator(object_list, per_page) if searching else Paginator(object_list, per_page)
