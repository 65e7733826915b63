"""Search spaces for sweeps: grids, uniform and log-uniform samples, seeds, coarse-to-fine.

A space maps hyperparameter names to axes. Grid axes are crossed with each other; random
axes are drawn jointly (every random axis must ask for the same number of draws, N) and the
N draws are crossed with the grid. `configurations` flattens the space into columns of
equal length K, the configuration axis a sweep vmaps over.

  space = parse_space(["learning_rate=log:1e-4:1e-1:32", "b1=0.8,0.9,0.99"])
  columns = configurations(space, seed=0)   # {"learning_rate": [96], "b1": [96]}
  parse_axis("loggrid:1e-4:1:9")            # Grid((1e-4, 3.16e-4, ..., 1.0)): a log-spaced grid
"""
import itertools
import math
from typing import NamedTuple, Optional, Union

import numpy as np


class Grid(NamedTuple):
  values: tuple

  def describe(self) -> str:
    return ",".join(f"{v:g}" for v in self.values)


class Uniform(NamedTuple):
  low: float
  high: float
  draws: int

  def sample(self, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(self.low, self.high, self.draws)

  def describe(self) -> str:
    return f"uniform:{self.low:g}:{self.high:g}:{self.draws}"


class LogUniform(NamedTuple):
  low: float
  high: float
  draws: int

  def sample(self, rng: np.random.Generator) -> np.ndarray:
    return np.exp(rng.uniform(math.log(self.low), math.log(self.high), self.draws))

  def describe(self) -> str:
    return f"log:{self.low:g}:{self.high:g}:{self.draws}"


Axis = Union[Grid, Uniform, LogUniform]


RANGES = ("log", "uniform", "loggrid", "grid")


def parse_axis(text: str) -> Axis:
  """`a,b,c` (grid values), `grid:low:high:n` / `loggrid:low:high:n` (n evenly / geometrically
  spaced grid values, ends included), `uniform:low:high:n` / `log:low:high:n` (n random draws,
  uniform / log-uniform)."""
  call = f"parse_axis(text={text!r})"
  kind, _, rest = text.partition(":")
  if kind in RANGES and rest:
    parts = rest.split(":")
    if len(parts) != 3:
      raise ValueError(f"{call}: text must be {kind}:low:high:n, got {text!r}")
    low, high, draws = _number(call, parts[0]), _number(call, parts[1]), parts[2]
    if not draws.isdigit() or int(draws) < 1:
      raise ValueError(f"{call}: n must be an integer in [1, inf), got {draws!r}")
    if kind.startswith("log") and low <= 0:
      what = "log-uniform axis" if kind == "log" else "log-spaced grid"
      raise ValueError(f"{call}: low must be in (0, inf) for a {what}, got {low:g}")
    if not low < high:
      raise ValueError(f"{call}: high must be above low = {low:g}, got {high:g}")
    if kind == "grid":
      return Grid(tuple(np.linspace(low, high, int(draws)).tolist()))
    if kind == "loggrid":
      return Grid(tuple(np.geomspace(low, high, int(draws)).tolist()))
    return (LogUniform if kind == "log" else Uniform)(low, high, int(draws))
  values = tuple(_number(call, v) for v in text.split(","))
  repeated = sorted({v for v in values if values.count(v) > 1})
  if repeated:
    raise ValueError(f"{call}: values must be distinct, got {repeated[0]:g} more than once")
  return Grid(values)


def parse_space(assignments) -> dict:
  """`["name=axis", ...]` (the CLI's repeated --param) into {name: axis}."""
  space = {}
  for assignment in assignments:
    name, sign, axis = assignment.partition("=")
    name = name.strip()
    if not sign or not name or not axis:
      raise ValueError(f"parse_space(assignment={assignment!r}): assignment must be "
                       f"name=values (e.g. learning_rate=log:1e-4:1e-1:16 or b1=0.8,0.9), "
                       f"got {assignment!r}")
    if name in space:
      raise ValueError(f"parse_space(name={name!r}): name must be given once, got it twice")
    try:
      space[name] = parse_axis(axis.strip())
    except ValueError as error:
      raise ValueError(f"--param {name}: {error}") from None
  return space


def configurations(space: dict, seed: int = 0) -> dict:
  """Flattens `space` into {name: float64 array [K]}: the grid crossed with the random draws."""
  grid = {name: axis for name, axis in space.items() if isinstance(axis, Grid)}
  random = {name: axis for name, axis in space.items() if not isinstance(axis, Grid)}
  draws = {axis.draws for axis in random.values()}
  if len(draws) > 1:
    asked = ", ".join(f"{axis.draws} for {name}" for name, axis in random.items())
    raise ValueError(f"configurations(draws={sorted(draws)}): draws must be one number for "
                     f"every random axis (they are drawn jointly), got {asked}")
  rng = np.random.default_rng(seed)
  samples = {name: axis.sample(rng) for name, axis in random.items()}
  count = draws.pop() if draws else 1
  rows = [(*point, i) for point in itertools.product(*(a.values for a in grid.values()))
          for i in range(count)]
  columns = {name: np.array([row[j] for row in rows], np.float64) for j, name in enumerate(grid)}
  columns.update({name: values[[row[-1] for row in rows]] for name, values in samples.items()})
  return {name: columns[name] for name in space}


def size(space: dict) -> int:
  """The number of configurations `configurations(space)` gives."""
  grid = math.prod(len(axis.values) for axis in space.values() if isinstance(axis, Grid))
  random = {axis.draws for axis in space.values() if not isinstance(axis, Grid)}
  return grid * max(random, default=1)


def refine(space: dict, best: dict, shrink: float = 0.25, draws: Optional[int] = None) -> dict:
  """Coarse-to-fine: a new space of random axes centred on `best` (name -> value).

  Each axis keeps `shrink` of its previous width (in log space for log-uniform axes and for
  positive grids spanning more than a factor 10), clipped to the previous range; the axes
  are drawn jointly, `draws` points (default: as many as `space` has configurations, so
  every round costs the same).
  """
  refined = {}
  n = draws or size(space)
  for name, axis in space.items():
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


def _number(call: str, text: str) -> float:
  try:
    value = float(text)
  except ValueError:
    value = None
  if value is None or not math.isfinite(value):
    raise ValueError(f"{call}: values must be finite numbers, got {text!r}")
  return value
