"""scripts/bench_status_webhook.py's last line says plainly whether the offered rate was carried at the target."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_status_webhook.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_status_webhook", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_carried_rate_under_the_latency_target_is_met():
    line = bench().verdict(offered=600, achieved=599, p99_ms=39.6, failures=0)
    assert line == "offered 600/s, achieved 599/s, p99 39.6 ms: target met"


def test_a_rate_not_achieved_is_said_whatever_the_latency():
    line = bench().verdict(offered=600, achieved=484, p99_ms=12.0, failures=0)
    assert line == "offered 600/s, achieved 484/s: TARGET NOT MET"


def test_every_reason_is_given():
    line = bench().verdict(offered=500, achieved=396, p99_ms=4200.0, failures=3)
    assert line.startswith("offered 500/s, achieved 396/s; p99 4200.0 ms (target under 50 ms); 3 callbacks")
    assert line.endswith("TARGET NOT MET")
