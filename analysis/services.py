"""Writes for post-call analysis and the model I/O log (keyword-only)."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from agents.brains.config import AgentConfig, ConfigError, load_config
from agents.brains.llm_client import LLMError
from agents.runtime import llm_defaults
from analysis.llm import llm_analysis, llm_configured
from analysis.models import CallAnalysis, ModelExchange
from analysis.rules import RULES_NOTE, Turn, rules_analysis
from analysis.schema import Checked, missing_required
from calls.selectors import call_for_analysis, call_turns_for_analysis
from campaigns.services import lead_custom_field_set
from privacy.redaction import redact, redact_value
from webhooks.services import webhook_event_emit

log = structlog.get_logger(__name__)


def _config(raw: Any) -> AgentConfig:
    try:
        return load_config(raw)
    except ConfigError:
        # A version saved before a rule existed still gets analysed, with the defaults.
        return AgentConfig()


def analysis_event_data(analysis: CallAnalysis) -> dict[str, Any]:
    return {
        "call_id": str(analysis.call_id),
        "status": analysis.status,
        "method": analysis.method,
        "summary": analysis.summary,
        "sentiment": analysis.sentiment,
        "success": analysis.success,
        "extraction": analysis.extraction,
        "missing_required": analysis.missing_required,
        "note": analysis.note,
        "analyzed_at": analysis.analyzed_at.isoformat() if analysis.analyzed_at else None,
    }


def analysis_run(*, call_id: uuid.UUID, automatic: bool = False) -> CallAnalysis | None:
    """Analyse a finished call (again): the LLM when one is configured, rules otherwise; store, write back, announce.

    The model is asked outside any transaction (it may take seconds); the
    result is then stored in one. What is stored follows the version's
    redaction; the lead's mapped custom fields get the extracted values.
    """
    call = call_for_analysis(call_id=call_id)
    config = _config(call.agent_version.config)
    if automatic and not config.analysis.enabled:
        return None  # an operator's re-run still analyses it
    turns = [Turn(speaker=t.speaker, text=t.text, data=t.data) for t in call_turns_for_analysis(call_id=call_id)]
    defaults = llm_defaults()
    method, model, note = CallAnalysis.Method.RULES, "", RULES_NOTE
    status = CallAnalysis.Status.DONE
    checked: Checked
    if llm_configured(config, defaults):
        try:
            answer = llm_analysis(config=config, defaults=defaults, turns=turns, disposition=call.disposition)
        except LLMError as exc:
            log.warning("analysis_llm_failed", call_id=str(call_id), error=str(exc))
            checked = rules_analysis(
                config=config, turns=turns, variables=call.variables or {}, disposition=call.disposition
            )
            note = f"The language model did not answer ({str(exc)[:150]}): rules only."
        else:
            method, model, checked = CallAnalysis.Method.LLM, answer.model, answer.checked
            note = "Language model, JSON constrained by the version's schema and validated."
            if checked.problems:
                note = "Language model; left out what failed validation: " + "; ".join(checked.problems)
                if not checked.summary:
                    status = CallAnalysis.Status.FAILED
    else:
        checked = rules_analysis(
            config=config, turns=turns, variables=call.variables or {}, disposition=call.disposition
        )
    redacting = config.privacy.redact_pii
    summary = redact(checked.summary) if redacting else checked.summary
    extraction = redact_value(checked.extraction) if redacting else checked.extraction
    written = _write_back(config, call.lead_id, checked.extraction) if status == CallAnalysis.Status.DONE else {}
    with transaction.atomic():
        analysis, _ = CallAnalysis.objects.select_for_update().get_or_create(call_id=call_id)
        analysis.status = status
        analysis.method = method
        analysis.summary = summary
        analysis.sentiment = checked.sentiment
        analysis.success = checked.success
        analysis.extraction = extraction
        analysis.missing_required = missing_required(config.analysis.fields, checked.extraction)
        analysis.written_to_lead = redact_value(written) if redacting else written
        analysis.note = note[:300]
        analysis.model = model[:200]
        analysis.redacted = redacting
        analysis.runs += 1
        analysis.analyzed_at = timezone.now()
        analysis.save()
        data = analysis_event_data(analysis)
        transaction.on_commit(lambda: webhook_event_emit(event="call.analyzed", data=data))
    log.info("call_analyzed", call_id=str(call_id), method=method, status=status)
    return analysis


def _write_back(config: AgentConfig, lead_id: int | None, extraction: dict[str, Any]) -> dict[str, Any]:
    """Set the lead's custom fields the version maps (each write announces lead.updated)."""
    written: dict[str, Any] = {}
    if lead_id is None:
        return written
    for spec in config.analysis.fields:
        if spec.lead_field and spec.name in extraction:
            # The lead's own record keeps what the caller gave (the CRM needs the value);
            # redaction governs transcripts, logs and the analysis stored here.
            with transaction.atomic():
                lead_custom_field_set(lead_id=lead_id, field=spec.lead_field, value=extraction[spec.name])
            written[spec.lead_field] = extraction[spec.name]
    return written


def analysis_mark_pending(*, call_id: uuid.UUID) -> CallAnalysis:
    """Show "pending" on the call page while a (re-)run is queued."""
    analysis, _ = CallAnalysis.objects.get_or_create(call_id=call_id)
    if analysis.status != CallAnalysis.Status.PENDING:
        analysis.status = CallAnalysis.Status.PENDING
        analysis.save(update_fields=["status"])
    return analysis


def analyses_delete(*, call_ids: list[uuid.UUID]) -> int:
    deleted, _ = CallAnalysis.objects.filter(call_id__in=call_ids).delete()
    return deleted


# --- the model I/O log -------------------------------------------------------------------


def model_exchange_record(
    *,
    call_id: uuid.UUID,
    kind: str,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    endpoint: str = "",
    model: str = "",
    confidence: float | None = None,
    error: str = "",
    redacting: bool = False,
) -> ModelExchange:
    """Keep one model input/output of a call, redacted when the version says so (the live store calls this)."""
    request, response = request or {}, response or {}
    if redacting:
        request, response, error = redact_value(request), redact_value(response), redact(error)
    return ModelExchange.objects.create(
        call_id=call_id,
        kind=kind,
        request=request,
        response=response,
        endpoint=endpoint[:300],
        model=model[:200],
        confidence=confidence,
        error=error[:300],
        redacted=redacting,
    )


def model_exchanges_delete(*, call_ids: list[uuid.UUID]) -> int:
    deleted, _ = ModelExchange.objects.filter(call_id__in=call_ids).delete()
    return deleted
