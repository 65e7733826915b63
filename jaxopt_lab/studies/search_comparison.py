"""Search methods compared on one task and budget: grid, random, quasi-random, successive
halving and TPE.

SGD with momentum trains the digits MLP (64-64-10, `--steps` minibatch steps of 64); the
search space has three axes, learning_rate in [1e-4, 3] and l2 in [1e-6, 1e-1] (log scale)
and beta in [0, 0.99]. Each method spends the same budget, `--configurations` runs of
`--steps` steps, on each of `--sweep-seeds` sweep seeds (seed s: the draws' seed and the runs'
training seed, so each method meets the same training noise):

- grid: the loggrid/lingrid with k points per axis, k^3 <= the budget (the rest unspent);
- random: independent draws; quasi-random: a scrambled Sobol sequence (`--search quasi-random`);
- halving: successive halving (`jaxopt_lab.sweeps.successive_halving`, eta = 3, rungs of
  steps/9, 3 and 9 times that, rounded to evaluations, and steps) of as many random draws as
  fit the budget: every one runs the first rung, the best third continues from its saved
  state, and so on;
- tpe: Optuna's TPE in batches of `--tpe-batch`, each batch one compiled sweep.

The score is the lowest validation loss (cross-entropy, the best over each run's evaluations)
found after each run-step spent: a continuous score, where the accuracy on 360 validation
examples moves in steps of 0.28% and ties. A prefix of random or quasi-random draws is itself
such a search; TPE counts whole batches and is told the same score; halving counts whole rungs
(the lowest validation loss of any run so far, at its evaluations up to the rung's steps);
a grid's only point is its whole budget. Writes search_comparison.png (the score against run-steps, median and range over
sweep seeds), search_comparison.csv (every method, seed and budget) and
search_comparison.md (the final scores). Optuna is needed for TPE: without it, TPE is left
out with a note.
"""
import argparse
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import pandas as pd

from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table, save_text
from jaxopt_lab.studies import check_option
from jaxopt_lab.sweeps import space as search_space
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.halving import rung_budgets, successive_halving
from jaxopt_lab.sweeps.report import markdown_table
from jaxopt_lab.sweeps.search import require_optuna, tpe_search
from jaxopt_lab.sweeps.tasks import digits_task

DESCRIPTION = "Grid, random, quasi-random, halving and TPE search on digits, same budget."
RANGES = {"learning_rate": ("log", 1e-4, 3.0), "beta": ("lin", 0.0, 0.99),
          "l2": ("log", 1e-6, 1e-1)}
SCORE = "lowest_val_loss"
COLOURS = {"grid": "0.35", "random": "C0", "quasi-random": "C2", "halving": "C1", "tpe": "C3"}
ETA = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--configurations", type=int, default=None,
                      help="runs per method and sweep seed (default 64, quick 8)")
  parser.add_argument("--steps", type=int, default=None,
                      help="minibatch steps per run (default 300, quick 45)")
  parser.add_argument("--sweep-seeds", type=int, default=None,
                      help="repetitions of every search (default 5, quick 2)")
  parser.add_argument("--tpe-batch", type=int, default=None,
                      help="TPE: configurations per batch (default 16, quick 4)")


def spaces(configurations: int) -> dict:
  """The search space of each method drawing `configurations` points (grid: k per axis)."""
  k = int(np.floor(configurations ** (1 / len(RANGES)) + 1e-9))
  draws = {name: f"{'loguniform' if kind == 'log' else 'uniform'}:{low}:{high}:{configurations}"
           for name, (kind, low, high) in RANGES.items()}
  lattice = {name: f"{kind}grid:{low}:{high}:{k}" for name, (kind, low, high) in RANGES.items()}
  return {"grid": search_space.parse_space([f"{n}={a}" for n, a in lattice.items()]),
          "draws": search_space.parse_space([f"{n}={a}" for n, a in draws.items()])}


def main(args: argparse.Namespace) -> list[Path]:
  quick = args.quick
  count = args.configurations or (8 if quick else 64)
  steps = args.steps or (45 if quick else 300)
  seeds = args.sweep_seeds or (2 if quick else 5)
  batch = args.tpe_batch or (4 if quick else 16)
  check_option("--configurations", count, 8, 4096)
  check_option("--steps", steps, 1, 100000)
  check_option("--sweep-seeds", seeds, 1, 100)
  check_option("--tpe-batch", batch, 1, count)
  try:
    require_optuna("search-comparison")
    methods = ["grid", "random", "quasi-random", "halving", "tpe"]
  except ValueError as missing:
    print(f"{missing}: TPE is left out")
    methods = ["grid", "random", "quasi-random", "halving"]
  every = max(1, steps // (9 if quick else 12))   # quick: rungs of 5, 15, 45 steps
  task = digits_task("momentum", widths=(64,), steps=steps, batch_size=64, eval_every=every)
  min_steps = max(every, steps // ETA ** 2 // every * every)
  started = halving_start(count * steps, steps, min_steps)
  space = spaces(count)
  objective = task.objective._replace(column="best_val_loss", maximize=False, tiebreak=None)
  options = dict(objective=objective, progress=False, chunk_size=batch)  # one program for all
  rows, runs = [], []
  for seed in range(seeds):
    for method in methods:
      if method == "tpe":
        table = tpe_search(task.run, space["draws"], [seed], batch_size=batch,
                           seed=seed, option="search-comparison", **options).table
      elif method == "halving":
        columns = search_space.configurations(spaces(started)["draws"], seed=seed)
        halved = successive_halving(task, columns, [seed], eta=ETA, min_steps=min_steps,
                                    objective=objective, chunk_size=batch)
        runs.append(halved.table.assign(method=method, sweep_seed=seed))
        rows += halving_progress(halved, task.eval_steps, seed)
        continue
      else:
        axes = space["grid"] if method == "grid" else space["draws"]
        columns = search_space.configurations(
            axes, seed=seed, method="random" if method == "grid" else method)
        table = run_sweep(task.run, columns, [seed], **options).table
      runs.append(table.assign(method=method, sweep_seed=seed))
      rows += progress_of(table, method, seed, steps, batch, objective.column)
    print(f"sweep seed {seed}: " + ", ".join(
        f"{r['method']} {r[SCORE]:.4f}" for r in rows
        if r["final"] and r["sweep_seed"] == seed))
  curves = pd.DataFrame(rows)
  final = summary(curves[curves.final])
  out = Path(args.out)
  text = (f"# Search methods at the same budget: momentum SGD on digits\n\n"
          f"{count} runs of {steps} steps per method and sweep seed ({count * steps} "
          f"run-steps; the grid uses {len(next(iter(space['grid'].values())).values)} points "
          f"per axis; halving starts {started} random draws and spends at most as much), "
          f"{seeds} sweep seeds. The lowest validation loss found, over sweep "
          f"seeds (median, min, max), and the median best validation accuracy of the runs "
          f"that found it:\n\n{markdown_table(final)}\n")
  print(text)
  return [save_table(curves, out / "search_comparison.csv"),
          save_table(pd.concat(runs, ignore_index=True), out / "search_comparison_runs.csv"),
          save_text(text, out / "search_comparison.md"),
          save_figure(plot(curves, count, steps, seeds), out / "search_comparison.png")]


def progress_of(table: pd.DataFrame, method: str, seed: int, steps: int, batch: int,
                column: str) -> list[dict]:
  """The lowest validation loss (and the accuracy of its run) after each budget a method can
  stop at: every run (random, quasi-random), every batch (TPE), the whole grid."""
  score = np.nan_to_num(table[column].where(~table.diverged).to_numpy(), nan=np.inf)
  leader = np.array([np.argmin(score[:n]) for n in range(1, len(score) + 1)])
  best, accuracy = score[leader], table.best_val_accuracy.to_numpy()[leader]
  runs = len(score)
  stops = {"grid": [runs], "tpe": list(range(batch, runs, batch)) + [runs]}.get(
      method, list(range(1, runs + 1)))
  return [{"method": method, "sweep_seed": seed, "runs": n, "run_steps": n * steps,
           SCORE: float(best[n - 1]), "its_val_accuracy": float(accuracy[n - 1]),
           "final": n == runs} for n in stops]


def halving_start(budget: int, steps: int, min_steps: int) -> int:
  """The most configurations successive halving can start within `budget` run-steps (each rung
  keeps max(1, n // ETA) of its n, as `successive_halving` does)."""
  def cost(n):
    spent, last = 0, 0
    for stop in rung_budgets(steps, min_steps, ETA):
      spent, last, n = spent + n * (stop - last), stop, max(1, n // ETA)
    return spent
  started = 1
  while cost(started + 1) <= budget:
    started += 1
  return started


def halving_progress(halved, eval_steps: np.ndarray, seed: int) -> list[dict]:
  """After each rung: the run-steps spent so far and the lowest validation loss of any run not
  diverged, at its evaluations up to the rung's steps (and that run's best accuracy there)."""
  loss = np.where(halved.table.diverged.to_numpy()[:, None], np.inf,
                  np.nan_to_num(halved.curves["val_loss"], nan=np.inf))
  accuracy = halved.curves["val_accuracy"]
  rows, spent = [], np.cumsum(halved.rungs.run_steps)
  for rung, (stop, run_steps) in enumerate(zip(halved.rungs.steps, spent)):
    seen = eval_steps <= stop
    leader = np.unravel_index(np.argmin(loss[:, seen]), loss[:, seen].shape)[0]
    rows.append({"method": "halving", "sweep_seed": seed, "runs": len(halved.table),
                 "run_steps": int(run_steps), SCORE: float(loss[leader, seen].min()),
                 "its_val_accuracy": float(np.nanmax(accuracy[leader, seen])),
                 "final": rung == len(halved.rungs) - 1})
  return rows


def summary(final: pd.DataFrame) -> pd.DataFrame:
  grouped = final.groupby("method", sort=False)
  return pd.DataFrame({"runs": grouped.runs.first(), "run_steps": grouped.run_steps.first(),
                       "median": grouped[SCORE].median(), "min": grouped[SCORE].min(),
                       "max": grouped[SCORE].max(),
                       "its_val_accuracy_median": grouped.its_val_accuracy.median()}
                      ).reset_index()


def plot(curves: pd.DataFrame, count: int, steps: int, seeds: int):
  fig, (ax, right) = plt.subplots(1, 2, figsize=(14, 5.4), width_ratios=(2.1, 1.1))
  for method, group in curves.groupby("method", sort=False):
    error = group.pivot(index="run_steps", columns="sweep_seed", values=SCORE)
    colour = COLOURS[method]
    if len(error) == 1:
      x = error.index[0]
      ax.errorbar([x], [error.median(axis=1).iloc[0]],
                  [[error.median(axis=1).iloc[0] - error.min(axis=1).iloc[0]],
                   [error.max(axis=1).iloc[0] - error.median(axis=1).iloc[0]]],
                  fmt="s", color=colour, capsize=4, ms=7, label=f"{method} (its whole budget)")
      continue
    ax.plot(error.index, error.median(axis=1), color=colour, lw=2,
            marker="o" if len(error) < 20 else None, ms=4, label=method)
    ax.fill_between(error.index, error.min(axis=1), error.max(axis=1), color=colour,
                    alpha=0.15, lw=0)
  ax.set(xscale="log", yscale="log", xlabel="run-steps spent (runs x steps per run)",
         ylabel="lowest validation loss so far (cross-entropy)",
         title=f"Search methods on digits, momentum SGD over (learning_rate, beta, l2): "
               f"{count} runs of {steps} steps\nmedian over {seeds} sweep seeds, band: min to "
               f"max")
  ax.title.set_fontsize(10)
  ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:.3g}"))
  ax.yaxis.set_minor_formatter(ticker.FuncFormatter(
      lambda y, _: f"{y:.3g}" if f"{y:.0e}"[0] in "235" else ""))
  ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
  ax.xaxis.set_minor_formatter(ticker.FuncFormatter(
      lambda x, _: f"{x:,.0f}" if f"{x:.0e}"[0] in "25" else ""))
  ax.grid(True, which="both", alpha=0.3)
  ax.legend()
  final = curves[curves.final].pivot(index="sweep_seed", columns="method", values=SCORE)
  final = final[[m for m in COLOURS if m in final]]
  positions = np.arange(len(final.columns))
  right.plot(positions, final.T.to_numpy(), color="0.7", lw=0.8, zorder=1)   # one line a seed
  for x, method in zip(positions, final.columns):
    right.scatter(np.full(len(final), x), final[method], color=COLOURS[method], zorder=2)
    right.hlines(final[method].median(), x - 0.25, x + 0.25, color=COLOURS[method], lw=2.5)
  right.set(xticks=positions, xticklabels=final.columns, xlim=(-0.5, len(positions) - 0.5),
            ylabel="lowest validation loss at the whole budget",
            title="At the whole budget: a dot per sweep seed\n(grey lines join one seed), bar: "
                  "median")
  right.title.set_fontsize(10)
  right.tick_params(axis="x", labelrotation=20)
  right.grid(True, axis="y", alpha=0.3)
  fig.tight_layout()
  return fig
