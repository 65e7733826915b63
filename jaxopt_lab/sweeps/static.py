"""Static axes: task options that change the compiled program (batch size, widths, depth,
optimizer or schedule name, training-set size), swept as one compiled program per
combination, each vmapped over the numeric hyperparameters, into one table.

  result = run_static_sweep(
      lambda batch_size, widths: digits_task("adam", batch_size=batch_size, widths=widths),
      {"batch_size": [32, 128], "widths": [(32,), (64, 64)]},          # 4 programs
      {"learning_rate": np.geomspace(1e-4, 1e-1, 8)}, seeds=[0, 1], out="results/static")
  result.table   # 64 rows: a column per static axis (widths written 64x64), config ids unique
  board = leaderboard(result.table, result.hyperparameters, result.objective)

With `out`, each combination keeps its own `run_sweep` folder (out/static-batch_size-32_
widths-64x64: its identity, verified chunks and resume); without static axes the sweep is
`out` itself, as `run_sweep` writes it. Configuration ids are combination * K + configuration
(K numeric configurations).
"""
import itertools
import re
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from jaxopt_lab.sweeps.engine import SweepResult, run_sweep
from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.report import winners_curse


class StaticSweepResult(NamedTuple):
  table: pd.DataFrame      # one row per (combination, configuration, seed)
  curves: dict             # name -> [rows, length]; NaN where a combination lacks the curve
  hyperparameters: list    # the static axes, then the numeric ones: the table's own columns
  objective: Objective     # the first combination's task's
  tasks: list              # the Task of each combination, in `combinations` order
  combinations: list       # dicts: static axis -> value
  results: list            # the SweepResult of each combination

  def combination_of(self, row) -> int:
    """The index in `combinations` of a table or leaderboard row, by its static columns."""
    for number, combination in enumerate(self.combinations):
      if all(row[name] == shown(value) for name, value in combination.items()):
        return number
    raise KeyError(f"no combination of {list(self.combinations[0])} matches this row")


def combinations(static: dict, call: str = "run_static_sweep") -> list:
  """Every combination of the static axes (name -> values), in itertools.product order; an
  axis without values is one ValueError line."""
  for name, values in static.items():
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
      raise ValueError(f"{call}(static[{name!r}]={values!r}): an axis must be a non-empty list "
                       f"of values, got {values!r}")
  return [dict(zip(static, values)) for values in itertools.product(*static.values())]


def shown(value) -> object:
  """A static value as the table holds it: numbers as they are, a tuple of widths as 64x32."""
  if isinstance(value, (tuple, list)):
    return "x".join(str(v) for v in value)
  return value.item() if isinstance(value, np.generic) else value


def label(combination: dict) -> str:
  """A folder name for a combination: static-batch_size-32_widths-64x64."""
  text = "_".join(f"{name}-{shown(value)}" for name, value in combination.items())
  return "static-" + re.sub(r"[^A-Za-z0-9_.x-]", "-", text)


def run_static_sweep(make_task: Callable, static: dict, columns: dict,
                     seeds: Sequence[int] = (0,), *, out: Optional[Path] = None,
                     **sweep_options) -> StaticSweepResult:
  """`run_sweep` of `make_task(**combination).run` over `columns` x `seeds` for every
  combination of the `static` axes (name -> values), each its own compiled program (and its
  own folder under `out`), into one table with a column per static axis. Every task is built
  before anything runs, so a bad option fails first, in the task's own one-line error;
  `sweep_options` go to `run_sweep`."""
  chosen = combinations(static)
  tasks = [make_task(**combination) for combination in chosen]
  results, tables, count = [], [], len(next(iter(columns.values()))) if columns else 1
  for number, (combination, task) in enumerate(zip(chosen, tasks)):
    folder = None if out is None else (Path(out) / label(combination) if static else Path(out))
    description = f"{task.name} {sorted(columns)} {label(combination) if static else ''}"
    result = run_sweep(task.run, columns, seeds, out=folder, description=description.strip(),
                       objective=task.objective, **sweep_options)
    table = result.table.assign(config=result.table.config + number * count)
    for position, (name, value) in enumerate(combination.items()):
      table.insert(1 + position, name, shown(value))
    results.append(result)
    tables.append(table)
  table = pd.concat(tables, ignore_index=True)
  return StaticSweepResult(table, _joined([r.curves for r in results]),
                           [*static, *(n for n in columns if n not in static)],
                           tasks[0].objective, tasks, chosen, results)


def _joined(curves: list) -> dict:
  """Curves of every combination stacked by rows; a curve some combinations lack (a deeper
  model's dead_relu_3) or that is shorter is NaN-filled there."""
  rows = [len(next(iter(c.values()))) for c in curves]
  joined = {}
  for name in dict.fromkeys(n for c in curves for n in c):
    length = max(c[name].shape[1] for c in curves if name in c)
    stacked = np.full((sum(rows), length), np.nan, np.float64)
    at = 0
    for c, count in zip(curves, rows):
      if name in c:
        stacked[at:at + count, :c[name].shape[1]] = c[name]
      at += count
    joined[name] = stacked
  return joined


def static_winners_curse(result: StaticSweepResult, board: pd.DataFrame, top_k: int,
                         fresh_seeds, out=None, **sweep_options) -> pd.DataFrame:
  """`report.winners_curse` for a static sweep: the top_k configurations of `board` (a
  `leaderboard` of `result.table`), each re-run on `fresh_seeds` by its own combination's
  task (saved under `out`, a folder per combination, when given); ranks on fresh seeds are
  over all of them."""
  static = list(result.combinations[0])
  numeric = [n for n in result.hyperparameters if n not in static]
  top = board.head(top_k)
  top = top.assign(_combination=[result.combination_of(row) for _, row in top.iterrows()])
  parts = []
  for number, group in top.groupby("_combination", sort=False):
    folder = out if out is None or not static else Path(out) / label(result.combinations[number])
    part = winners_curse(result.tasks[number].run, group, numeric, result.objective,
                         len(group), fresh_seeds, out=folder, **sweep_options)
    for position, name in enumerate(static):
      part.insert(1 + position, name, group[name].to_numpy())
    parts.append(part)
  curse = pd.concat(parts).set_index("config").loc[top.config].reset_index()
  sign = 1 if result.objective.maximize else -1
  curse["rank_on_fresh_seeds"] = (-sign * curse["fresh_mean"]).rank(method="min").astype(int)
  return curse
