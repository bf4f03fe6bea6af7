"""The README's "Connect your store" snippets, as the tests run them: each code block follows a
`<!-- test: NAME -->` marker."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_snippet(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    marker = f"<!-- test: {name} -->"
    assert marker in text, f"README.md lost its {name!r} snippet"
    block = re.search(r"```[a-z]*\n(.*?)```", text.split(marker, 1)[1], re.S)
    return block.group(1)
