#!/usr/bin/env python
"""Fault suite: schemathesis over /api/schema/ with a token; prints the case count and the server errors.

    .venv/bin/python scripts/faults/api_fuzz.py [--max-examples 40] [--database-url postgres://...]

Starts `daphne voiceops.asgi:application` on the embedded default (SQLite in a
temporary VOICEOPS_VAR_DIR, where the integer-overflow 500s showed) or on
`--database-url`, migrates, seeds the demo, makes an admin with an API token,
then runs `schemathesis run` (every phase: examples, coverage, fuzzing,
stateful) with the `not_a_server_error` check. The API throttle is lifted for
the run (API_THROTTLE_USER), or most cases would only see 429s.

Schemathesis is a dev tool (requirements-dev.txt); the script finds its
command next to this Python, on PATH, or at --schemathesis.

Prints: cases generated, failures schemathesis reported, and (counted apart,
from daphne's access log) responses with a 5xx status. Exit status 0 only
when both are zero and at least --min-cases cases ran.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import PYTHON, base_env, daphne, free_port, manage

PRINT_API_KEY = """from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
user, _ = User.objects.get_or_create(username="fuzzer", defaults={"is_superuser": True, "is_staff": True})
print(Token.objects.get_or_create(user=user)[0].key)
"""


def schemathesis_command(given: str) -> str:
    for candidate in (given, str(Path(PYTHON).parent / "schemathesis"), shutil.which("schemathesis") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("schemathesis not found: pip install -r requirements-dev.txt, or pass --schemathesis PATH")


def run(args: argparse.Namespace) -> dict[str, int]:
    command = schemathesis_command(args.schemathesis)
    var_dir = Path(tempfile.mkdtemp(prefix="voiceops-fuzz-"))
    env = base_env(
        VOICEOPS_VAR_DIR=str(var_dir),
        SECRET_KEY="fuzz-only-secret-key",  # noqa: S106  (a throwaway server)
        API_THROTTLE_USER="1000000/min",
        API_THROTTLE_ANON="1000000/min",
    )
    env.pop("REDIS_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env.pop("DATABASE_URL", None)
    manage(env, "migrate", "-v", "0")
    manage(env, "seed_demo")
    token = manage(env, "shell", "-v", "0", "-c", PRINT_API_KEY).strip().splitlines()[-1]
    port = free_port()
    log_path = var_dir / "daphne.log"
    started = time.monotonic()
    with daphne(env, port, log_path):
        result = subprocess.run(  # noqa: S603  (the schemathesis command, our arguments)
            [
                command,
                "run",
                f"http://127.0.0.1:{port}/api/schema/",
                "--header",
                f"Authorization: Token {token}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                str(args.max_examples),
                "--workers",
                str(args.workers),
                "--continue-on-failure",
                "--suppress-health-check",
                "all",
                "--request-timeout",
                "30",
                "--seed",
                str(args.seed),
            ],
            cwd=var_dir,
            capture_output=True,
            text=True,
            check=False,
        )
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    failures = re.search(r"ST101 Server error: (\d+)", output)
    access = log_path.read_text(errors="replace")
    server_errors = len(re.findall(r'" 5\d\d \d+', access))
    counts = {
        "cases": int(generated.group(1)) if generated else 0,
        "schemathesis_server_error_failures": int(failures.group(1)) if failures else 0,
        "responses_5xx_in_server_log": server_errors,
        "seconds": int(time.monotonic() - started),
    }
    if counts["schemathesis_server_error_failures"] or server_errors or not generated:
        print(output[-6000:])
    shutil.rmtree(var_dir, ignore_errors=True) if not args.keep else print(f"kept: {var_dir}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=40, help="per operation and phase (40: about 3,000 cases)")
    parser.add_argument("--min-cases", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of the embedded SQLite")
    parser.add_argument("--schemathesis", default="", help="path of the schemathesis command")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs, database)")
    args = parser.parse_args()
    counts = run(args)
    for name, value in counts.items():
        print(f"{name}: {value}")
    ok = counts["cases"] >= args.min_cases and not counts["schemathesis_server_error_failures"]
    ok = ok and not counts["responses_5xx_in_server_log"]
    print("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
