"""The three console roles, as Django groups with model permissions, and the checks every entry point uses.

- viewer: reads everything in the console (every app's `view_*` permission).
- operator: a viewer who also runs campaigns, acts on calls, imports and edits
  leads, edits and publishes agents and runs experiments (`add_`/`change_` on
  those models, never `delete_`).
- admin: every permission. Superusers are admins whatever their groups.

Permissions rather than group names are what the checks ask for, so the
admin's user and group pages can grant a single right, and DRF's model
permissions apply the same table to the API (a token acts with its user's
permissions). A user in no group can log in but sees nothing: an account
must be given a role on purpose. Users that existed before roles did were
made operators by audit/migrations/0002 (they could do everything then).

The groups are created and their permissions brought in step after every
`migrate` (a post_migrate hook, once every app's permissions exist), so a
fresh database, a test database and an upgraded one all end up the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import DjangoModelPermissions

ADMIN = "admin"
OPERATOR = "operator"
VIEWER = "viewer"
ROLES = (ADMIN, OPERATOR, VIEWER)

# Apps whose rows the console shows: viewers get every `view_` permission here.
CONSOLE_APPS = ("agents", "calendars", "campaigns", "calls", "experiments", "webhooks", "audit")
# What an operator may create and change, as (app label, model) pairs.
OPERATOR_MODELS = (
    ("agents", "agent"),
    ("agents", "agentversion"),
    ("campaigns", "campaign"),
    ("campaigns", "lead"),
    ("campaigns", "leadimport"),
    ("calls", "call"),
    ("experiments", "experiment"),
    ("experiments", "variant"),
)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Console socket: who may watch, and who may send an action (hang up, listen, take over).
SOCKET_WATCH = "calls.view_call"
SOCKET_ACT = "calls.change_call"


def role_permissions(role: str) -> Any:
    """The permissions a role's group holds (a queryset)."""
    if role == ADMIN:
        return Permission.objects.all()
    view = Q(content_type__app_label__in=CONSOLE_APPS, codename__startswith="view_")
    if role == VIEWER:
        return Permission.objects.filter(view)
    if role == OPERATOR:
        write = Q(pk__in=[])
        for app_label, model in OPERATOR_MODELS:
            write |= Q(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=(f"add_{model}", f"change_{model}"),
            )
        return Permission.objects.filter(view | write)
    raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def roles_sync() -> dict[str, Group]:
    """Create the three groups if missing and set each one's permissions to the table above (idempotent)."""
    groups = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(role_permissions(role))
        groups[role] = group
    return groups


def roles_sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: run once, after the last app's signal, when every permission exists."""
    from django.apps import apps

    if sender.label != list(apps.get_app_configs())[-1].label:
        return
    if not Permission.objects.using(using).exists():  # a migrate that stopped short of auth
        return
    roles_sync()


def role_assign(*, user: User, role: str) -> None:
    """Give a user exactly one role (removing the others)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    group, _ = Group.objects.get_or_create(name=role)
    if not group.permissions.exists():
        roles_sync()
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(pk=group.pk))
    user.groups.add(group)


def role_of(user: User | AnonymousUser) -> str | None:
    """The user's role for display: superusers are admins; None for anonymous or role-less users."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((role for role in ROLES if role in names), None)


def user_may(user: User | AnonymousUser | None, perm: str) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(perm)


_View = TypeVar("_View", bound=Callable[..., HttpResponse])


def role_required(perm: str, *, write: str | None = None) -> Callable[[_View], _View]:
    """A console view's check: log in first, then 403 without the permission.

    `perm` is asked of reads (GET, HEAD, OPTIONS); other methods need `write`
    when given, else `perm` too. So a POST-only action names its write
    permission alone, and a page with a form names both:
    `@role_required("campaigns.view_leadimport", write="campaigns.add_leadimport")`.
    """

    def decorator(view: _View) -> _View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            needed = perm if request.method in SAFE_METHODS else (write or perm)
            if not request.user.has_perm(needed):
                raise PermissionDenied(f"Your role does not allow this ({needed}).")
            return view(request, *args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator


class ApiRolePermission(DjangoModelPermissions):
    """The API's default permission: model permissions, with reads needing `view_` too.

    DRF's own class lets any authenticated user read; here a token acts with
    its user's role exactly as the console does (a role-less user reads nothing,
    a viewer's POST, PUT, PATCH or DELETE is a 403). Custom actions follow their
    method: `POST /api/campaigns/1/start/` needs `add_campaign`, which only
    operators and admins hold.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }
