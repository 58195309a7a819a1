"""Bootstrap's fetch of the Smart Turn file: the pinned wheel's member, checked, written whole or not at all.

`pip download` is replaced by a stand-in interpreter that writes a wheel
with the given member into pip's download directory (the real download runs
in scripts/bootstrap, on every CI run).
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

from voiceops import smart_turn_file


def fake_pip(tmp_path: Path, member: bytes | None) -> str:
    """An executable that acts as `python -m pip download ... -d DIR WHEEL`: a wheel holding `member`."""
    wheel = tmp_path / "pipecat_ai-1.14.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pipecat/__init__.py", "")
        if member is not None:
            archive.writestr(smart_turn_file.MEMBER, member)
    script = tmp_path / "python"
    script.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        "assert args[:3] == ['-m', 'pip', 'download'] and '--no-deps' in args, args\n"
        f"assert args[-1] == {smart_turn_file.WHEEL!r}, args\n"
        f"shutil.copy({str(wheel)!r}, args[args.index('-d') + 1])\n"
    )
    script.chmod(0o755)
    return str(script)


def test_the_pinned_member_is_extracted_when_its_hash_matches(tmp_path, monkeypatch):
    content = b"the model"
    monkeypatch.setattr(smart_turn_file, "SHA256", hashlib.sha256(content).hexdigest())
    path = smart_turn_file.fetch(tmp_path / "models", python=fake_pip(tmp_path, content))
    assert path == tmp_path / "models" / smart_turn_file.FILENAME
    assert path.read_bytes() == content
    assert smart_turn_file.installed(tmp_path / "models") == path
    # Present and right: nothing is downloaded again (this interpreter would fail).
    assert smart_turn_file.fetch(tmp_path / "models", python="/bin/false") == path


def test_a_member_with_another_hash_is_refused_and_not_kept(tmp_path):
    with pytest.raises(smart_turn_file.ModelFileError, match="expected 2bb02631"):
        smart_turn_file.fetch(tmp_path / "models", python=fake_pip(tmp_path, b"not the model"))
    assert list((tmp_path / "models").iterdir()) == []
    assert smart_turn_file.installed(tmp_path / "models") is None


def test_a_wheel_without_the_model_is_refused(tmp_path):
    with pytest.raises(smart_turn_file.ModelFileError, match="has no pipecat/audio/turn/smart_turn"):
        smart_turn_file.fetch(tmp_path / "models", python=fake_pip(tmp_path, None))


def test_a_failed_download_says_so(tmp_path):
    with pytest.raises(smart_turn_file.ModelFileError, match=r"pip download pipecat-ai==1\.14\.0 failed"):
        smart_turn_file.fetch(tmp_path / "models", python="/bin/false")
