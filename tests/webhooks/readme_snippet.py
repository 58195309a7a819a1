"""The signature check exactly as the README documents it (its "Outbound webhooks" section), loaded from there."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier() -> Callable[..., bool]:
    text = README.read_text()
    section = text.split("## Outbound webhooks", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "the README's Outbound webhooks section has no python snippet"
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)  # noqa: S102  (our own README, on purpose)
    verify = namespace["voiceops_signature_ok"]
    assert callable(verify)
    return verify
