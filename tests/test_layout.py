"""The package's shape: one module per idea, no import cycles (importlib included), one public
path per name, nothing installed that imports the uninstalled experiments/ or benchmarks/."""
import ast
import re
from pathlib import Path
from types import ModuleType

import pytest

import jaxopt_lab as jl
from jaxopt_lab import studies

PACKAGE = Path(jl.__file__).parent
MODULES = {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
    ".__init__"): path for path in sorted(PACKAGE.rglob("*.py"))}
LONGEST = 420  # lines: "a module over ~400 lines is asking to be split"


def imports_of(name: str) -> set:
  """The jaxopt_lab modules `name` imports, and the studies it runs through `run_study`."""
  tree = ast.parse(MODULES[name].read_text())
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module:
      found.add(node.module)
      found |= {f"{node.module}.{alias.name}" for alias in node.names}
  runs = re.findall(r'"([a-z-]+)"', MODULES[name].read_text()) if "run_study" in found or \
      "jaxopt_lab.studies.run_study" in found else []
  found |= {f"jaxopt_lab.studies.{studies.REGISTRY[run]}" for run in runs
            if run in studies.REGISTRY}
  return {module for module in found if module in MODULES and module != name}


def test_no_module_is_too_long():
  long = {name: n for name, path in MODULES.items()
          if (n := len(path.read_text().splitlines())) > LONGEST}
  assert not long


def test_no_import_cycles_including_the_study_registry():
  graph = {name: imports_of(name) for name in MODULES}
  visiting, done = [], set()

  def visit(name):
    if name in done:
      return
    assert name not in visiting, f"import cycle: {' -> '.join(visiting[visiting.index(name):])}"
    visiting.append(name)
    for other in graph[name]:
      if not (name.startswith(other + ".") or other.startswith(name + ".")):
        visit(other)  # a package and its own modules are not a cycle
    visiting.pop()
    done.add(name)

  for name in graph:
    visit(name)


def test_studies_never_import_the_cli():
  assert not [name for name in MODULES if "jaxopt_lab.cli" in imports_of(name)]


def test_the_package_never_imports_experiments_or_benchmarks():
  for name, path in MODULES.items():
    assert not re.search(r"^\s*(from|import) (experiments|benchmarks)\b", path.read_text(),
                         re.M), name


def test_every_registered_study_exists_and_describes_itself():
  for name in studies.REGISTRY:
    module = studies.load(name)
    assert module.DESCRIPTION and callable(module.main) and callable(module.add_arguments)


SUBPACKAGES = {"sweeps": jl.sweeps, "theory": jl.theory, "train": jl.train,
               "diagnostics": jl.diagnostics}


def public_objects(package) -> set:
  """The names `package` exports for functions, classes and values (modules are paths)."""
  return {name for name in package.__all__ if not isinstance(getattr(package, name), ModuleType)}


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_one_public_path_per_name(name):
  """A subpackage's public names are not also at the top, nor in another subpackage."""
  own = public_objects(SUBPACKAGES[name])
  assert not own & public_objects(jl)
  for other, package in SUBPACKAGES.items():
    if other != name:
      assert not own & public_objects(package), (name, other)


def test_every_public_name_resolves():
  for package in (jl, *SUBPACKAGES.values()):
    for name in package.__all__:
      assert getattr(package, name) is not None, (package.__name__, name)
