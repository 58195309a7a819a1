"""Daily rollups of calls and turns: what every analytics page, API answer and CSV export adds up.

Pages never scan calls or turns. A day's rows are rebuilt from the calls
created that day (analytics.services.rollup_day_rebuild), so a rollup is
always the exact sum of its calls, whatever arrived late (a disposition, the
last turns); the refresh rebuilds only the days whose calls changed.

Percentiles do not add up across days or groups, so latency is kept as a
histogram: turns counted per stage in log-spaced buckets 5% wide. Adding
histograms is exact, and any range's p50/p95/p99 comes from the sum, within
half a bucket (about 2.5%) of the true value.
"""

from __future__ import annotations

from django.db import models


class CallDaily(models.Model):
    """One reporting day's calls of one group (agent version, campaign, direction, lead source, outcome)."""

    day = models.DateField()
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+", db_index=False)
    agent_version = models.ForeignKey("agents.AgentVersion", on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    direction = models.CharField(max_length=8)
    # The experiment variant the calls ran (the dialer and inbound routing set it); the guardrails read it.
    variant = models.ForeignKey(
        "experiments.Variant", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The lead field analytics breaks rates down by (analytics.services.LEAD_FIELD); "" without a lead.
    lead_source = models.CharField(max_length=80, blank=True)
    # The dialer's reading of the attempt (no-answer, voicemail, ...) or, without one, the call's status.
    outcome = models.CharField(max_length=32)
    calls = models.PositiveIntegerField(default=0)
    connected = models.PositiveIntegerField(default=0, help_text="Calls a person answered.")
    successes = models.PositiveIntegerField(default=0, help_text="Connected calls with a success disposition.")
    duration_s = models.BigIntegerField(default=0, help_text="Seconds from answer to end, summed.")
    # Connected calls with a duration, their seconds, and those the caller ended within EARLY_HANGUP_SECONDS
    # (no disposition: the agent sets one whenever it ends a call): the experiments' guardrails.
    connected_timed = models.PositiveIntegerField(default=0)
    connected_duration_s = models.BigIntegerField(default=0)
    early_hangups = models.PositiveIntegerField(default=0)
    agent_turns = models.PositiveIntegerField(default=0)
    interrupted_turns = models.PositiveIntegerField(default=0)
    llm_prompt_tokens = models.BigIntegerField(default=0)
    llm_completion_tokens = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            # Every page filters a date range, and optionally one agent, version or campaign.
            models.Index(fields=["day", "agent"], name="calldaily_day_agent_idx"),
            models.Index(fields=["agent_version", "day"], name="calldaily_version_day_idx"),
            models.Index(fields=["campaign", "day"], name="calldaily_campaign_day_idx"),
            models.Index(fields=["variant"], name="calldaily_variant_idx", condition=models.Q(variant__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.agent_version_id} {self.outcome}: {self.calls}"


class LatencyDaily(models.Model):
    """One reporting day's agent replies of one version and campaign whose `stage` fell in `bucket`.

    Bucket b holds latencies in [1.05^b, 1.05^(b+1)) milliseconds.
    """

    day = models.DateField()
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+", db_index=False)
    agent_version = models.ForeignKey("agents.AgentVersion", on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The experiment variant the calls ran (the dialer and inbound routing set it); the guardrails read it.
    variant = models.ForeignKey(
        "experiments.Variant", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    stage = models.CharField(max_length=32)
    bucket = models.SmallIntegerField()
    turns = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["day", "agent"], name="latencydaily_day_agent_idx"),
            models.Index(fields=["agent_version", "day"], name="latencydaily_version_day_idx"),
            models.Index(fields=["campaign", "day"], name="latencydaily_campaign_day_idx"),
            models.Index(
                fields=["variant", "stage"], name="latencydaily_variant_idx", condition=models.Q(variant__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.stage}[{self.bucket}]: {self.turns}"


class RollupState(models.Model):
    """A single row: when the rollups last caught up, and the lock that keeps two refreshes apart."""

    refreshed_at = models.DateTimeField(null=True, blank=True)
    # The ANALYTICS_TIMEZONE the rollups' days were cut in; another zone rebuilds them all.
    timezone = models.CharField(max_length=64, default="UTC")

    def __str__(self) -> str:
        return f"rollups refreshed at {self.refreshed_at}"


class AnalyticsSummary(CallDaily):
    """The admin's analytics summary page (a proxy: it lists no rows of its own)."""

    class Meta:
        proxy = True
        verbose_name = "analytics summary"
        verbose_name_plural = "analytics summary"
