"""Successive halving inside the compiled sweep: synchronous rungs, as in ASHA's synchronous
form (Jamieson & Talwalkar 2016; Li et al. 2020, "A System for Massively Parallel
Hyperparameter Tuning").

  task = digits_task("adam", steps=540, eval_every=20)
  result = successive_halving(task, columns, seeds=[0], eta=3, min_steps=60)
  result.board.head(1)      # the winner among the runs that reached the full budget
  result.rungs              # per rung: steps, configurations, runs, run-steps spent
  result.run_steps / result.full_run_steps   # 0.26 of the full sweep's run-steps here

Every configuration (x seed) runs the first rung's budget `min_steps`; after each rung the
best 1/eta configurations by the task's validation objective (their mean over seeds, as
`leaderboard` ranks them; diverged ones never continue) go on to eta times the budget, up to
the task's `steps`. A run continues from its saved state (parameters, optimizer state, the
epoch's shuffle, early stopping, key: `Task.init` / `Task.advance`), so a survivor's curves
equal those of an uninterrupted run to float rounding (chunks of another size compile other
batched matrix products). Each rung vmaps its survivors in compiled chunks of a power of two
rows (at most `chunk_size`), so the configurations dropped, diverged ones included, stop
costing compute.
"""
import math
import time
import weakref
from typing import NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxopt_lab._validation import Interval, check_int
from jaxopt_lab.sweeps.engine import rows_of, summarise
from jaxopt_lab.sweeps.objective import Objective, Task
from jaxopt_lab.sweeps.report import leaderboard


class HalvingResult(NamedTuple):
  table: pd.DataFrame    # one row per (configuration, seed): hyperparameters, seed, steps it
                         # ran, rung it reached, final_*/best_* of its curves so far, diverged
  board: pd.DataFrame    # `leaderboard` of the configurations that ran the whole budget
  rungs: pd.DataFrame    # per rung: steps (budget), configurations, runs, run_steps spent
  curves: dict           # name -> [rows, length]: NaN after the step a run stopped at
  run_steps: int         # steps run, summed over runs
  full_run_steps: int    # the full sweep's: runs x steps
  computed_run_steps: int  # run_steps plus the padding of the last chunk of each rung
  seconds: float


def rung_budgets(steps: int, min_steps: int, eta: int) -> list:
  """min_steps, eta min_steps, eta^2 min_steps, ..., ending with `steps`."""
  budgets = [min_steps]
  while budgets[-1] < steps:
    budgets.append(min(budgets[-1] * eta, steps))
  return budgets


def _checked(task: Task, eta, min_steps) -> tuple:
  """(eta, min_steps) as ints, the default min_steps filled in; one ValueError line if bad."""
  call = "successive_halving"
  if not isinstance(task, Task) or task.init is None or task.advance is None:
    raise ValueError(f"{call}(task={getattr(task, 'name', task)!r}): task must be resumable "
                     f"(a Task with init and advance, as supervised_task and digits_task "
                     f"build), got one without")
  check_int(call, eta=(eta, Interval(2, math.inf)))
  eta = int(eta)
  every = int(task.eval_steps[0])
  if min_steps is None:  # three rungs
    min_steps = max(every, task.steps // eta ** 2 // every * every)
  valid = isinstance(min_steps, (int, np.integer)) and every <= min_steps <= task.steps and \
      min_steps % every == 0
  if not valid:
    raise ValueError(f"{call}(min_steps={min_steps!r}): min_steps (the first rung's budget) "
                     f"must be a multiple of the task's eval_every {every} in [{every}, "
                     f"{task.steps}] (the whole run's steps), got {min_steps!r}")
  return eta, int(min_steps)


def _bucket(rows: int, chunk_size: int) -> int:
  """The chunk for `rows` runs: the next power of two, at most `chunk_size`."""
  return min(chunk_size, 1 << max(0, rows - 1).bit_length())


def _take(tree, index: np.ndarray):
  return jax.tree.map(lambda a: a[jnp.asarray(index)], tree)


def _chunks(count: int, chunk: int):
  """(start, padded row positions) of each chunk over `count` rows."""
  for start in range(0, count, chunk):
    yield start, np.minimum(np.arange(start, start + chunk), count - 1)


_PROGRAMS = weakref.WeakKeyDictionary()  # task.advance -> its _Programs (a sweep per seed reuses)


class _Programs:
  """The task's init and advance, vmapped and jitted once per (chunk, segment length)."""

  @classmethod
  def of(cls, task: Task) -> "_Programs":
    if task.advance not in _PROGRAMS:
      _PROGRAMS[task.advance] = cls(task)
    return _PROGRAMS[task.advance]

  def __init__(self, task: Task):
    self.init = jax.jit(jax.vmap(lambda hparams, seed: task.init(hparams, jax.random.key(seed))))
    self.advance = jax.jit(lambda state, hparams, start, count: jax.vmap(
        lambda one, row: task.advance(one, row, start, count))(state, hparams),
        static_argnums=3)


def successive_halving(task: Task, columns: dict, seeds: Sequence[int] = (0,), *, eta: int = 3,
                       min_steps: Optional[int] = None, objective: Optional[Objective] = None,
                       chunk_size: int = 256, dtype=jnp.float32) -> HalvingResult:
  """Synchronous successive halving of a resumable `task` (see the module docstring) over
  `columns` (name -> values [K]) x `seeds`: rungs of min_steps, eta min_steps, ..., steps
  (`rung_budgets`); after each, the best floor(n / eta) of its n configurations (at least
  one) by `objective` (default the task's) continue from their saved state.

  `min_steps` defaults to steps / eta^2 rounded down to a multiple of eval_every (three
  rungs). Raises ValueError (one line) for a task without init/advance, eta < 2 or not an
  integer, and a min_steps that is not a multiple of eval_every in [eval_every, steps] (a
  budget smaller than one rung); the columns and seeds are checked as `run_sweep` checks them.
  """
  eta, min_steps = _checked(task, eta, min_steps)
  check_int("successive_halving", chunk_size=(chunk_size, Interval(1, math.inf)))
  objective = objective or task.objective
  flat, seed_rows, config = rows_of(columns, seeds, dtype)
  names = list(flat)
  hparams = {k: jnp.asarray(v, dtype) for k, v in flat.items()}
  budgets = rung_budgets(task.steps, min_steps, eta)
  eval_steps = task.eval_steps
  programs = _Programs.of(task)
  curves, reached = {}, np.zeros(len(seed_rows), np.int64)
  active = np.arange(len(seed_rows))
  state, summaries, rung_rows, padded, began = None, {}, [], 0, time.perf_counter()
  for number, (start, stop) in enumerate(zip([0] + budgets[:-1], budgets)):
    chunk = _bucket(len(active), chunk_size)
    pieces, segments = [], []
    for first, index in _chunks(len(active), chunk):
      lanes = active[index]
      rows = {k: v[lanes] for k, v in hparams.items()}
      lane_state = (programs.init(rows, jnp.asarray(seed_rows[lanes])) if state is None
                    else _take(state, index))
      parts = []
      for at in range(start, stop, min_steps):  # one compiled segment length serves every rung
        lane_state, part = programs.advance(lane_state, rows, jnp.int32(at),
                                            min(min_steps, stop - at))
        parts.append(part)
      real = min(chunk, len(active) - first)
      pieces.append(_take(lane_state, np.arange(real)))
      segments.append({k: np.concatenate([np.asarray(p[k])[:real] for p in parts], axis=1)
                       for k in parts[0]})
      padded += chunk * (stop - start)
    state = jax.tree.map(lambda *a: jnp.concatenate(a), *pieces)
    _store(curves, segments, active, start, stop, eval_steps, task.steps, len(seed_rows))
    reached[active] = stop
    sofar = {k: v[active][:, :_length(v.shape[1], stop, eval_steps, task.steps)]
             for k, v in curves.items()}
    table = summarise({k: v[active] for k, v in flat.items()}, seed_rows[active],
                      config[active], sofar, {}, objective)
    summaries[stop] = table.set_index(active)
    board = leaderboard(table, names, objective)
    rung_rows.append({"rung": number, "steps": stop, "configurations": len(board),
                      "runs": len(active), "run_steps": len(active) * (stop - start)})
    if stop == task.steps:
      break
    usable = board[(board.diverged == 0) & board["mean"].notna()]
    keep = usable.config.head(max(1, len(board) // eta)).to_numpy()
    survivors = np.isin(config[active], keep)
    active, state = active[survivors], _take(state, np.flatnonzero(survivors))
    if not len(active):
      break
  table = pd.concat([summaries[stop].loc[np.flatnonzero(reached == stop)]
                     for stop in summaries]).sort_index()
  table = table.assign(steps=reached, rung=np.searchsorted(budgets, reached))
  final = table[table.steps == task.steps]
  board = leaderboard(final, names, objective) if len(final) else final
  return HalvingResult(table, board, pd.DataFrame(rung_rows), curves, int(reached.sum()),
                       len(seed_rows) * task.steps, padded, time.perf_counter() - began)


def _length(full: int, stop: int, eval_steps: np.ndarray, steps: int) -> int:
  """How much of a curve of `full` entries (per step, or per evaluation) covers steps < stop."""
  return stop if full == steps else int(np.sum(eval_steps <= stop))


def _store(curves, segments, active, start, stop, eval_steps, steps, rows):
  """Writes a rung's curve segments into the full curves [rows, length] (NaN-filled)."""
  evaluations = np.flatnonzero((eval_steps > start) & (eval_steps <= stop))
  for name in segments[0]:
    values = np.concatenate([s[name] for s in segments])
    positions = np.arange(start, stop) if values.shape[1] == stop - start else evaluations
    length = steps if values.shape[1] == stop - start else len(eval_steps)
    if name not in curves:
      curves[name] = np.full((rows, length), np.nan, values.dtype if
                             np.issubdtype(values.dtype, np.floating) else np.float32)
    curves[name][np.ix_(active, positions)] = values
