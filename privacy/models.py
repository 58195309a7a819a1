"""Clear-text copies kept where a version asks for them, and the record of every retention purge."""

from __future__ import annotations

from django.db import models


class ClearTurn(models.Model):
    """The clear text of a redacted transcript turn, kept only when the version's `keep_clear_text` is on.

    Admins only (no role but admin holds `privacy.view_clearturn`); deleted
    with its turn when the transcript's retention runs out.
    """

    turn = models.OneToOneField("calls.CallTurn", on_delete=models.CASCADE, related_name="clear_copy")
    text = models.TextField(blank=True)
    heard_text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"clear copy of turn {self.turn_id}"


class PurgeRecord(models.Model):
    """What one run of the retention purge deleted: counts, and the calls each kind was taken from."""

    ran_at = models.DateTimeField()
    recordings = models.PositiveIntegerField(default=0)
    transcript_turns = models.PositiveIntegerField(default=0)
    model_exchanges = models.PositiveIntegerField(default=0)
    analyses = models.PositiveIntegerField(default=0)
    # {"recordings": [call ids], "transcripts": [...], "analyses": [...]}
    calls = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"purge at {self.ran_at:%Y-%m-%d %H:%M}"

    @property
    def total(self) -> int:
        return self.recordings + self.transcript_turns + self.model_exchanges + self.analyses
