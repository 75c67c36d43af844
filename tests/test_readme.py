"""The README's promises: the two set-up commands, CI running the same, and a Python example that runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_exactly_two_commands_and_ci_runs_the_test_one():
    """The first code block (before any ## heading) holds the demo and test commands; .ci/run has the latter."""
    head = README.split("\n## ", 1)[0]
    block = re.search(r"```(?:bash)?\n(.*?)```", head, re.S)
    assert block, "no code block before the first ## heading"
    lines = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2, f"expected two commands, got {lines}"
    assert "coupled-beam demo" in lines[0] and "pytest" in lines[1]
    assert lines[1].strip() in (ROOT / ".ci" / "run").read_text(), ".ci/run must run the README's test command"


def test_readme_python_example_runs():
    """The 'From Python' example executes as printed and gives sizes at every boundary."""
    code = re.search(r"## From Python\n\n```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    eq = namespace["eq"]
    assert eq.sigma_x.shape == eq.s.shape and (eq.sigma_x > 0).all()
    assert namespace["ok"], "the README's working point must be stable"
