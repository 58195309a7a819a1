"""Query-string filters for the REST API's lists, declared as DRF serializers.

A filter set is a serializer of optional fields plus `lookups` (field ->
ORM lookup). Bad values and unknown parameters answer 400 naming them (a
typo in a filter must not quietly return every row). drf-spectacular turns
the same serializer into the list's documented query parameters:
`@extend_schema_view(list=extend_schema(parameters=[TheFilters]))`.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

M = TypeVar("M", bound=Model)

# A route's id pattern: a wrong-type id is a 404 from the router, never a 500 from a lookup.
INT_PATTERN = "[0-9]+"
UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


# Past the last row anyway, and far inside both databases' 64-bit integers: an unbounded
# `?offset=99999999999999999999999` became an OFFSET SQLite cannot hold (OverflowError, a 500).
MAX_OFFSET = 2**53


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=`, 50 a page by default, at most 500 (a bigger limit is cut to it), offsets bounded."""

    max_limit = 500

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)


# Parameters every list takes besides its filters.
_ALWAYS_ALLOWED = frozenset({Pagination.limit_query_param, Pagination.offset_query_param, "format"})


class QueryFilters(serializers.Serializer[Any]):
    lookups: ClassVar[dict[str, str]] = {}

    @classmethod
    def apply(cls, request: Request, queryset: QuerySet[M]) -> QuerySet[M]:
        """The queryset narrowed by the request's filters; a ValidationError (400) for a bad one."""
        params = request.query_params
        unknown = sorted(set(params) - set(cls.lookups) - _ALWAYS_ALLOWED)
        if unknown:
            known = ", ".join(sorted(set(cls.lookups) | _ALWAYS_ALLOWED))
            raise serializers.ValidationError(
                {name: [f"Unknown parameter; this list takes {known}."] for name in unknown}
            )
        filters = cls(data=params, partial=True)  # partial: an absent list filter is no filter, not an empty one
        filters.is_valid(raise_exception=True)
        values: dict[str, Any] = filters.validated_data
        for name, value in values.items():
            if value is not None:  # a null boolean filter is no filter
                queryset = cls.narrow(queryset, name, value)
        return queryset

    @classmethod
    def narrow(cls, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        """One filter's condition; a filter set overrides this for what one lookup cannot say."""
        return queryset.filter(**{cls.lookups[name]: sorted(value) if isinstance(value, set) else value})
