"""agents.brains is plain Python: importing all of it loads no Django, no web stack and no app's models.

The import-linter contract says the same statically; this runs it, in a
clean interpreter, so an import hidden inside a function body that runs at
import time (or a dependency that drags Django in) is caught too.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import agents.brains

ROOT = Path(__file__).resolve().parents[3]
# The slot arithmetic is the one module outside brains they may use: pure too.
MODULES = [info.name for info in pkgutil.iter_modules(agents.brains.__path__, "agents.brains.")] + ["calendars.slots"]
FORBIDDEN_ROOTS = {"django", "rest_framework", "channels", "asgiref", "celery", "voiceops"}
OTHER_APPS = {"calls", "campaigns", "experiments", "telephony", "live", "sandbox"}


def forbidden(module: str) -> bool:
    root = module.split(".")[0]
    if root in FORBIDDEN_ROOTS or root in OTHER_APPS:
        return True
    if root == "agents":
        return module not in ("agents", "agents.brains") and not module.startswith("agents.brains.")
    if root == "calendars":
        return module not in ("calendars", "calendars.slots")
    return False


def test_every_brains_module_imports_without_django():
    assert "agents.brains.factory" in MODULES and "agents.brains.tools" in MODULES
    code = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    assert [module for module in loaded if forbidden(module)] == []
