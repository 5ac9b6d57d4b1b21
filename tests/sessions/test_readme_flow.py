"""The README's Python login flow, run as printed against the suite's server: the documentation
cannot drift from what the mock does."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_flow() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- readme-flow -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its Python login flow"
    return match.group(1)


def test_the_readme_login_flow_runs_as_printed(api):
    code = readme_flow()
    assert 'B = "http://127.0.0.1:8080/v1"' in code
    exec(compile(code.replace("http://127.0.0.1:8080/v1", api.base_url), str(README), "exec"), {})
