"""Every Python example in README.md runs as written."""
import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_an_example_for_each_job():
  assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_example_runs(code, tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
  assert capsys.readouterr().out  # each example prints what it computed
