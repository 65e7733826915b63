"""Search spaces for sweeps: grids, random draws (random or quasi-random), coarse-to-fine.

A space maps hyperparameter names to axes, each written as the CLI's `--param NAME=AXIS`:

  grids (crossed with each other)      random draws (n, drawn jointly)
  0.8,0.9,0.99    these values          uniform:low:high:n      uniform in [low, high]
  lingrid:low:high:n   evenly spaced    loguniform:low:high:n   log-uniform in [low, high]
  loggrid:low:high:n   log-spaced       choice:a,b,c:n          one of the values, equally likely

Grid axes include both ends. Every random axis must ask for the same number of draws N; the
N points are drawn jointly, by the search method (`METHODS`): "random" (independent uniform
draws, NumPy's PCG64) or "quasi-random" (a scrambled Sobol sequence, scipy.stats.qmc: the
points fill the unit cube evenly, the Deep Learning Tuning Playbook's advice for exploration;
its balance holds at powers of two, N = 16, 32, ...), mapped to each axis (log-uniform axes in
log space). The N points are crossed with the grid. `configurations` flattens the space into
columns of equal length K, the configuration axis a sweep vmaps over.

  space = parse_space(["learning_rate=loguniform:1e-4:1e-1:32", "b1=0.8,0.9,0.99"])
  columns = configurations(space, seed=0, method="quasi-random")   # 96 configurations
  parse_axis("loggrid:1e-4:1:9")   # Grid((1e-4, 3.16e-4, ..., 1.0))

Bad axes are one line naming the option as typed (`--param learning_rate=log:1e-4:1e-1:32:
'log' is not an axis kind; did you mean loguniform (n random draws) or loggrid (n grid
values)?`); `log:` and `grid:`, the kinds' former names, are refused that way, since `log`
was read as a grid by some and as random draws by others.
"""
import difflib
import itertools
import math
import warnings
from typing import NamedTuple, Optional, Union

import numpy as np
from scipy.stats import qmc


class Grid(NamedTuple):
  values: tuple

  def describe(self) -> str:
    return ",".join(f"{v:g}" for v in self.values)


class Uniform(NamedTuple):
  low: float
  high: float
  draws: int

  def at(self, u: np.ndarray) -> np.ndarray:
    """The values at quantiles `u` in [0, 1)."""
    return self.low + u * (self.high - self.low)

  def describe(self) -> str:
    return f"uniform:{self.low:g}:{self.high:g}:{self.draws}"


class LogUniform(NamedTuple):
  low: float
  high: float
  draws: int

  def at(self, u: np.ndarray) -> np.ndarray:
    return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))

  def describe(self) -> str:
    return f"loguniform:{self.low:g}:{self.high:g}:{self.draws}"


class Choice(NamedTuple):
  values: tuple
  draws: int

  def at(self, u: np.ndarray) -> np.ndarray:
    index = np.minimum((u * len(self.values)).astype(np.int64), len(self.values) - 1)
    return np.asarray(self.values, np.float64)[index]

  def describe(self) -> str:
    return f"choice:{','.join(f'{v:g}' for v in self.values)}:{self.draws}"


Axis = Union[Grid, Uniform, LogUniform, Choice]
RandomAxis = Union[Uniform, LogUniform, Choice]

RANGES = {"lingrid": "n evenly spaced grid values", "loggrid": "n log-spaced grid values",
          "uniform": "n uniform random draws", "loguniform": "n log-uniform random draws"}
KINDS = (*RANGES, "choice")
FORMER = {"log": "loguniform (n random draws) or loggrid (n grid values)",
          "grid": "lingrid (n evenly spaced grid values)"}
"""The former names of axis kinds, refused with the new names."""
METHODS = ("random", "quasi-random")
"""How `configurations` draws the random axes' points."""
SYNTAX = ("values a,b,c, lingrid:low:high:n, loggrid:low:high:n, uniform:low:high:n, "
          "loguniform:low:high:n or choice:a,b,c:n")


def parse_axis(text: str, option: Optional[str] = None) -> Axis:
  """One axis from its text (see the module's table); a bad one is a ValueError naming
  `option` (e.g. `--param learning_rate=...`; default `parse_axis(text=...)`)."""
  call = option or f"parse_axis(text={text!r})"
  if not text.strip():
    raise ValueError(f"{call}: the axis is empty; give {SYNTAX}")
  if ":" not in text:
    return Grid(_values(call, text))
  kind, _, rest = text.partition(":")
  if kind in FORMER:
    raise ValueError(f"{call}: {kind!r} is not an axis kind; did you mean {FORMER[kind]}?")
  if kind not in KINDS:
    close = difflib.get_close_matches(kind, [*KINDS, *FORMER], n=1)
    hint = (f"did you mean {FORMER.get(close[0], close[0])}? " if close else "")
    raise ValueError(f"{call}: {kind!r} is not an axis kind; {hint}give {SYNTAX}")
  if kind == "choice":
    values, sign, draws = rest.rpartition(":")
    if not sign:
      raise ValueError(f"{call}: text must be choice:a,b,c:n, got {text!r}")
    return Choice(_values(call, values), _draws(call, draws))
  parts = rest.split(":")
  if len(parts) != 3:
    raise ValueError(f"{call}: text must be {kind}:low:high:n ({RANGES[kind]}), got {text!r}")
  low, high, draws = _number(call, parts[0]), _number(call, parts[1]), _draws(call, parts[2])
  if kind.startswith("log") and low <= 0:
    raise ValueError(f"{call}: low must be in (0, inf) for {kind}, got {low:g}")
  if not low < high:
    raise ValueError(f"{call}: high must be above low = {low:g}, got {high:g}")
  if kind == "lingrid":
    return Grid(tuple(np.linspace(low, high, draws).tolist()))
  if kind == "loggrid":
    return Grid(tuple(np.geomspace(low, high, draws).tolist()))
  return (LogUniform if kind == "loguniform" else Uniform)(low, high, draws)


def parse_space(assignments, option: str = "--param") -> dict:
  """`["name=axis", ...]` (the CLI's repeated --param) into {name: axis}; errors name each
  assignment as `{option} name=axis`."""
  space = {}
  for assignment in assignments:
    name, sign, axis = assignment.partition("=")
    name = name.strip()
    where = f"{option} {assignment}"
    if not sign or not name:
      raise ValueError(f"{where}: assignment must be NAME=AXIS (e.g. "
                       f"learning_rate=loguniform:1e-4:1e-1:16 or b1=0.8,0.9), got "
                       f"{assignment!r}")
    if name in space:
      raise ValueError(f"{where}: {name} must be given once, got it twice")
    space[name] = parse_axis(axis.strip(), where)
  return space


def configurations(space: dict, seed: int = 0, method: str = "random") -> dict:
  """Flattens `space` into {name: float64 array [K]}: the grid crossed with N points of the
  random axes, drawn by `method` (one of `METHODS`) from `seed`; the same seed and method
  give the same columns."""
  if method not in METHODS:
    raise ValueError(f"configurations(method={method!r}): method must be one of "
                     f"{', '.join(METHODS)}, got {method!r}")
  grid = {name: axis for name, axis in space.items() if isinstance(axis, Grid)}
  random = {name: axis for name, axis in space.items() if not isinstance(axis, Grid)}
  count = draw_count(space)
  quantiles = unit_points(count, len(random), seed, method)
  samples = {name: axis.at(quantiles[:, j]) for j, (name, axis) in enumerate(random.items())}
  rows = [(*point, i) for point in itertools.product(*(a.values for a in grid.values()))
          for i in range(count)]
  columns = {name: np.array([row[j] for row in rows], np.float64) for j, name in enumerate(grid)}
  columns.update({name: values[[row[-1] for row in rows]] for name, values in samples.items()})
  return {name: columns[name] for name in space}


def unit_points(count: int, dimensions: int, seed: int, method: str) -> np.ndarray:
  """[count, dimensions] points in [0, 1): independent uniform draws ("random", one column
  after the other) or a scrambled Sobol sequence ("quasi-random")."""
  if method == "random":
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(size=count) for _ in range(dimensions)], axis=1) \
        if dimensions else np.zeros((count, 0))
  if not dimensions:
    return np.zeros((count, 0))
  with warnings.catch_warnings():  # the balance warning for N not a power of two: documented
    warnings.simplefilter("ignore", UserWarning)
    return qmc.Sobol(dimensions, scramble=True, rng=np.random.default_rng(seed)).random(count)


def draw_count(space: dict) -> int:
  """N, the number of points of the random axes (1 when there is none); one line when they
  disagree."""
  random = {name: axis for name, axis in space.items() if not isinstance(axis, Grid)}
  counts = {axis.draws for axis in random.values()}
  if len(counts) > 1:
    asked = ", ".join(f"{axis.draws} for {name}" for name, axis in random.items())
    raise ValueError(f"configurations(draws={sorted(counts)}): draws must be one number for "
                     f"every random axis (they are drawn jointly), got {asked}")
  return counts.pop() if counts else 1


def size(space: dict) -> int:
  """The number of configurations `configurations(space)` gives."""
  grid = math.prod(len(axis.values) for axis in space.values() if isinstance(axis, Grid))
  return grid * draw_count(space)


def refine(space: dict, best: dict, shrink: float = 0.25, draws: Optional[int] = None) -> dict:
  """Coarse-to-fine: a new space of random axes centred on `best` (name -> value).

  Each axis keeps `shrink` of its previous width (in log space for log-uniform axes and for
  positive grids spanning more than a factor 10), clipped to the previous range; the axes
  are drawn jointly, `draws` points (default: as many as `space` has configurations, so
  every round costs the same). A choice axis keeps its values.
  """
  refined = {}
  n = draws or size(space)
  for name, axis in space.items():
    if isinstance(axis, Choice):
      refined[name] = Choice(axis.values, n)
      continue
    low, high = (min(axis.values), max(axis.values)) if isinstance(axis, Grid) else axis[:2]
    centre = best[name]
    logarithmic = isinstance(axis, LogUniform) or (
        isinstance(axis, Grid) and low > 0 and high / low > 10)
    if low == high:
      refined[name] = axis
    elif logarithmic:
      half = shrink * math.log(high / low) / 2
      new_low = max(low, centre * math.exp(-half))
      refined[name] = LogUniform(new_low, min(high, centre * math.exp(half)), n)
    else:
      half = shrink * (high - low) / 2
      refined[name] = Uniform(max(low, centre - half), min(high, centre + half), n)
  return refined


def _values(call: str, text: str) -> tuple:
  values = tuple(_number(call, v) for v in text.split(","))
  repeated = sorted({v for v in values if values.count(v) > 1})
  if repeated:
    raise ValueError(f"{call}: values must be distinct, got {repeated[0]:g} more than once")
  return values


def _draws(call: str, text: str) -> int:
  if not text.isdigit() or int(text) < 1:
    raise ValueError(f"{call}: n must be an integer in [1, inf), got {text!r}")
  return int(text)


def _number(call: str, text: str) -> float:
  try:
    value = float(text)
  except ValueError:
    value = None
  if value is None or not math.isfinite(value):
    raise ValueError(f"{call}: values must be finite numbers, got {text!r}")
  return value
