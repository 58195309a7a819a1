"""Console pages for agents and their versions: list, versions, draft editor, publish, diff, rollback.

Thin views: writes go through agents.services, reads through agents.selectors;
htmx requests get the partial that changed, plain requests the whole page
(every form also works without JavaScript).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agents.forms import AgentCreateForm, VersionSettingsForm
from agents.models import Agent, AgentVersion
from agents.selectors import agent_version_diff, agent_versions, agents_with_versions
from agents.services import (
    VersionAlreadyPublished,
    agent_create,
    agent_version_create_draft,
    agent_version_publish,
    agent_version_rollback,
    agent_version_update_draft,
)
from audit import verbs
from audit.services import audit_record
from voiceops.roles import role_required

READ = "agents.view_agent"
WRITE = "agents.change_agentversion"
CREATE = "agents.add_agent"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@role_required(READ)
def agent_list(request: HttpRequest) -> HttpResponse:
    return render(request, "agents/list.html", {"agents": agents_with_versions()})


@role_required(READ)
def agent_detail(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    versions = list(agent_versions(agent=agent))
    context = {"agent": agent, "versions": versions, "live": agent.live_version}
    if _is_htmx(request):
        return render(request, "agents/_versions.html", context)
    return render(request, "agents/detail.html", context)


@role_required(READ, write=CREATE)
def agent_new(request: HttpRequest) -> HttpResponse:
    form = AgentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agent, draft = agent_create(
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                config={"brain": "flow", "greeting": form.cleaned_data["greeting"]},
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            audit_record(actor=request.user, verb=verbs.AGENT_CREATED, target=agent, summary=agent.name)
            messages.success(request, f"{agent.name} was created with a first draft: set it up, then publish it.")
            return redirect("agents:version", version_id=draft.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "agents/new.html", {"form": form}, status=status)


def _editor_context(
    version: AgentVersion,
    text: str | None = None,
    errors: list[str] | None = None,
    settings_form: VersionSettingsForm | None = None,
) -> dict[str, Any]:
    config = version.config if isinstance(version.config, dict) else {}
    return {
        "version": version,
        "agent": version.agent,
        "config_text": text if text is not None else json.dumps(version.config, indent=2, sort_keys=True),
        "errors": errors or [],
        "settings_form": settings_form or VersionSettingsForm(initial=VersionSettingsForm.initial_from(config)),
    }


@role_required(READ)
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(AgentVersion.objects.select_related("agent"), pk=version_id)
    return render(request, "agents/version.html", _editor_context(version))


@role_required(WRITE)
@require_POST
def version_edit(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(AgentVersion.objects.select_related("agent"), pk=version_id)
    text = request.POST.get("config", "")
    notes = request.POST.get("notes")
    errors: list[str] = []
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        errors = [f"config: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    else:
        try:
            version = agent_version_update_draft(version=version, config=config, notes=notes)
        except ValidationError as exc:
            errors = [message for messages_ in exc.message_dict.values() for message in messages_]
        except VersionAlreadyPublished as exc:
            errors = [str(exc)]
    status = 400 if errors else 200
    # On error the operator's text comes back untouched: nothing typed is lost.
    context = _editor_context(version, text if errors else None, errors)
    context["saved"] = not errors
    template = "agents/_editor.html" if _is_htmx(request) else "agents/version.html"
    return render(request, template, context, status=status)


@role_required(WRITE)
@require_POST
def version_settings(request: HttpRequest, version_id: int) -> HttpResponse:
    """Save the common settings form into a draft's configuration; each refusal is shown beside its field."""
    version = get_object_or_404(AgentVersion.objects.select_related("agent"), pk=version_id)
    form = VersionSettingsForm(request.POST)
    saved = False
    if form.is_valid():
        config = version.config if isinstance(version.config, dict) else {}
        try:
            version = agent_version_update_draft(version=version, config=form.merged_config(config))
        except ValidationError as exc:
            form.add_config_errors(_messages(exc))
        except VersionAlreadyPublished as exc:
            form.add_error(None, str(exc))
        else:
            saved = True
            audit_record(
                actor=request.user,
                verb=verbs.VERSION_EDITED,
                target=version,
                summary=", ".join(sorted(form.changed_data)) or "no change",
            )
    status = 200 if saved else 400
    # On error the operator's values come back as typed; on success the saved configuration is shown.
    context = _editor_context(version, settings_form=None if saved else form)
    context["settings_saved"] = saved
    return render(request, "agents/version.html", context, status=status)


@role_required(WRITE)
@require_POST
def version_new_draft(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    source_id = request.POST.get("from", "")
    chosen = agent.versions.filter(pk=int(source_id)).first() if source_id.isdigit() else None
    source = chosen or agent.versions.order_by("-number").first()
    draft = agent_version_create_draft(
        agent=agent,
        config=source.config if source else {"brain": "flow", "greeting": "Hello {{first_name}}."},
        notes=f"Draft from v{source.number}" if source else "First draft",
    )
    return redirect("agents:version", version_id=draft.pk)


@role_required(WRITE)
@require_POST
def version_publish(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(AgentVersion.objects.select_related("agent"), pk=version_id)
    try:
        agent_version_publish(version=version)
        audit_record(
            actor=request.user, verb=verbs.PUBLISHED, target=version, summary=f"{version.agent.name} v{version.number}"
        )
        messages.success(request, f"v{version.number} is published and now live.")
    except (ValidationError, VersionAlreadyPublished) as exc:
        messages.error(request, f"v{version.number} was not published: {'; '.join(_messages(exc))}")
    return _back_to_agent(request, version.agent)


@role_required(WRITE)
@require_POST
def version_rollback(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(AgentVersion.objects.select_related("agent"), pk=version_id)
    try:
        new = agent_version_rollback(version=version)
        audit_record(
            actor=request.user,
            verb=verbs.ROLLED_BACK,
            target=new,
            summary=f"{version.agent.name} v{new.number} published with v{version.number}'s configuration",
            data={"from_version": version.number},
        )
        messages.success(request, f"Rolled back: v{new.number} is live with v{version.number}'s configuration.")
    except (ValidationError, ValueError) as exc:
        messages.error(request, f"Not rolled back: {'; '.join(_messages(exc))}")
    return _back_to_agent(request, version.agent)


@role_required(READ)
def version_diff(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    versions = list(agent_versions(agent=agent))
    by_number = {str(v.number): v for v in versions}
    old = by_number.get(request.GET.get("old", ""))
    new = by_number.get(request.GET.get("new", ""))
    if old is None and new is None and len(versions) >= 2:
        new, old = versions[0], versions[1]
    error = ""
    if old is None or new is None:
        error = "Choose two versions of this agent to compare."
    changes = agent_version_diff(old=old, new=new) if old and new else []
    context = {"agent": agent, "versions": versions, "old": old, "new": new, "changes": changes, "error": error}
    template = "agents/_diff.html" if _is_htmx(request) else "agents/diff.html"
    return render(request, template, context, status=400 if error and request.GET else 200)


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [m for ms in exc.message_dict.values() for m in ms] if hasattr(exc, "error_dict") else exc.messages
    return [str(exc)]


def _back_to_agent(request: HttpRequest, agent: Agent) -> HttpResponse:
    if _is_htmx(request):
        return agent_detail_partial(request, agent)
    return redirect("agents:detail", agent_id=agent.pk)


def agent_detail_partial(request: HttpRequest, agent: Agent) -> HttpResponse:
    context = {"agent": agent, "versions": list(agent_versions(agent=agent)), "live": agent.live_version}
    return render(request, "agents/_versions.html", context)
