"""Every Python example in README.md runs as written, and prints what the README says.

A comment `# -> TEXT` on a statement's line, or on the comment lines right after it, is what
that statement prints (stripped; `...` stands for any text, so a long output can be cut short).
The README's examples 1, 3 and 4 (minimize, theory, gradcheck) carry such comments; the others
print values that vary by machine (a sweep's table, training accuracies) and are only run.
"""
import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, re.S)
CHECKED = {1, 4, 5}  # the examples whose printed output the README shows (# -> ...)


def test_the_readme_has_an_example_for_each_job():
  assert len(EXAMPLES) >= 5


def expected_outputs(code: str, node: ast.stmt) -> list[str]:
  """The `# -> TEXT` comments of `node`'s lines and of the comment lines that follow it."""
  lines = code.splitlines()
  found = []
  for number in range(node.lineno, len(lines) + 1):
    line = lines[number - 1]
    if number > node.end_lineno and not line.lstrip().startswith("#"):
      break
    comment = re.search(r"#[^#]*?->\s*(.*)$", line)
    if comment and (number <= node.end_lineno or line.lstrip().startswith("#")):
      found.append(comment[1].strip())
  return found


def matches(printed: str, expected: str) -> bool:
  pattern = ".*".join(re.escape(part) for part in expected.split("..."))
  return re.fullmatch(pattern, printed.strip(), re.S) is not None


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=[f"example-{i}" for i in
                                                              range(len(EXAMPLES))])
def test_example_runs_and_prints_what_the_readme_shows(index, tmp_path, monkeypatch):
  code = EXAMPLES[index]
  monkeypatch.chdir(tmp_path)
  namespace, printed, checked = {"__name__": "readme"}, [], 0
  for node in ast.parse(code).body:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      exec(compile(ast.Module([node], []), "README.md", "exec"), namespace)
    printed.append(out.getvalue())
    expected = expected_outputs(code, node)
    if expected:
      assert matches(out.getvalue(), "\n".join(expected)), (out.getvalue(), expected)
      checked += 1
  assert "".join(printed)  # each example prints what it computed
  assert (checked > 0) == (index in CHECKED)
