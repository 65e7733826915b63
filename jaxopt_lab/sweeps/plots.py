"""Figures of a sweep: the objective against each hyperparameter, 2-D maps for pairs, and the
curves of the best configurations."""
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.report import Chosen


def is_logarithmic(values) -> bool:
  values = np.asarray(values, np.float64)
  return bool(values.min() > 0 and values.max() / values.min() > 10)


def objective_vs_each(board: pd.DataFrame, hyperparameters, objective: Objective):
  """One panel per hyperparameter: mean objective over seeds (bars: std), best marked."""
  fig, axes = plt.subplots(1, len(hyperparameters), figsize=(4.2 * len(hyperparameters), 3.6),
                           squeeze=False)
  usable = board[board["diverged"] == 0]
  for ax, name in zip(axes[0], hyperparameters):
    ax.errorbar(usable[name], usable["mean"], yerr=usable["std"].fillna(0), fmt="o", ms=3,
                lw=0.8, alpha=0.7, label="configuration (mean ± std over seeds)")
    failed = board[board["diverged"] > 0]
    if len(failed):
      low = usable["mean"].min() if len(usable) else 0
      ax.plot(failed[name], np.full(len(failed), low), "x", color="tab:red",
              label="diverged")
    if len(usable):
      best = usable.iloc[0]
      ax.plot(best[name], best["mean"], "*", color="gold", mec="k", ms=14, label="chosen")
    if is_logarithmic(board[name]):
      ax.set_xscale("log")
    ax.set(xlabel=name, ylabel=objective.column, title=f"{objective.column} vs {name}")
  axes[0][0].legend()
  fig.tight_layout()
  return fig


def pair_maps(board: pd.DataFrame, hyperparameters, objective: Objective, grids=()):
  """One panel per pair: a heatmap when both are grid axes (names in `grids`), a coloured
  scatter otherwise."""
  pairs = list(itertools.combinations(hyperparameters, 2))
  fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.2), squeeze=False)
  for ax, (x, y) in zip(axes[0], pairs):
    values = board["mean"].where(board["diverged"] == 0)
    if x in grids and y in grids:
      grid = board.assign(value=values).pivot_table(index=y, columns=x, values="value",
                                                    dropna=False)
      image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
      ax.set_xticks(range(grid.shape[1]), [f"{v:.3g}" for v in grid.columns], rotation=45)
      ax.set_yticks(range(grid.shape[0]), [f"{v:.3g}" for v in grid.index])
      ax.grid(False)
    else:
      image = ax.scatter(board[x], board[y], c=values, cmap="viridis", s=25)
      bad = values.isna()
      ax.scatter(board[x][bad], board[y][bad], marker="x", color="tab:red", s=20,
                 label="diverged")
      for name, set_scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        if is_logarithmic(board[name]):
          set_scale("log")
    fig.colorbar(image, ax=ax, label=f"mean {objective.column}")
    ax.set(xlabel=x, ylabel=y, title=f"{objective.column} over ({x}, {y})")
  fig.tight_layout()
  return fig


def top_curves(curves: dict, table: pd.DataFrame, board: pd.DataFrame, hyperparameters,
               top: int = 5, eval_steps=None):
  """Every curve of the `top` configurations, averaged over seeds; curves other than the
  per-step train_loss are drawn at `eval_steps` when given."""
  names = list(curves)
  fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.6), squeeze=False)
  chosen = board.head(top)
  for ax, name in zip(axes[0], names):
    for rank, row in enumerate(chosen.itertuples()):
      rows = table.index[table.config == row.config]
      label = ", ".join(f"{h}={getattr(row, h):.3g}" for h in hyperparameters)
      values = np.nanmean(curves[name][rows], axis=0)
      steps = eval_steps if eval_steps is not None and len(eval_steps) == len(values) \
          else np.arange(len(values))
      ax.plot(steps, values, lw=1.5 if rank == 0 else 1, label=f"#{rank + 1}: {label}")
    if "loss" in name:
      ax.set_yscale("log")
    ax.set(xlabel="step", ylabel=name,
           title=f"{name}, top {len(chosen)} configurations")
  axes[0][0].legend(fontsize=7)
  fig.tight_layout()
  return fig


def optimizer_comparison(chosen: list[Chosen], objective: Objective, eval_steps=None):
  """Several optimizers' sweeps side by side: the objective against the learning rate (each
  configuration a point, seeds averaged), the chosen configurations' validation curves, and
  their scores on the sweep's seeds vs fresh seeds (and the test set, when measured)."""
  colors = plt.get_cmap("tab10")
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
  for i, (row, curves, board) in enumerate(chosen):
    board = board.sort_values("learning_rate")
    usable = board[board.diverged == 0]
    axes[0].plot(usable.learning_rate, usable["mean"], "o", ms=3, alpha=0.6, color=colors(i))
    best = usable.groupby("learning_rate")["mean"]
    line = best.max() if objective.maximize else best.min()
    axes[0].plot(line.index, line.to_numpy(), "-", color=colors(i), label=row["optimizer"])
    axes[0].plot(row["learning_rate"], row["sweep_mean"], "*", ms=13, mec="k", color=colors(i))
    curve_name = "val_accuracy" if "val_accuracy" in curves else next(
        (k for k in curves if k.startswith("val_")), next(iter(curves)))
    values = curves[curve_name]
    steps = eval_steps if eval_steps is not None and len(eval_steps) == len(values) \
        else np.arange(len(values))
    axes[1].plot(steps, values, color=colors(i), label=f"{row['optimizer']} "
                 f"(lr {row['learning_rate']:.2g})")
    axes[1].set(xlabel="step", ylabel=curve_name,
                title=f"{curve_name} of each optimizer's chosen configuration")
  axes[0].set(xscale="log", xlabel="learning rate", ylabel=f"mean {objective.column}",
              title=f"{objective.column} vs learning rate (line: best at each rate, "
                    "star: chosen)")
  if "loss" in objective.column:
    axes[0].set_yscale("log")
  if "loss" in curve_name:
    axes[1].set_yscale("log")
  axes[0].legend()
  axes[1].legend()
  rows = [c.summary for c in chosen]
  names = [row["optimizer"] for row in rows]
  scores = {"sweep seeds (biased)": [row["sweep_mean"] for row in rows],
            "fresh seeds": [row["fresh_mean"] for row in rows]}
  if all("test_accuracy_mean" in row for row in rows):
    scores["test set"] = [row["test_accuracy_mean"] for row in rows]
  width = 0.8 / len(scores)
  for j, (label, values) in enumerate(scores.items()):
    axes[2].bar(np.arange(len(names)) + (j - (len(scores) - 1) / 2) * width, values, width,
                label=label)
  low = min(min(v) for v in scores.values())
  high = max(max(v) for v in scores.values())
  if objective.maximize and np.isfinite(low):
    axes[2].set_ylim(max(0.0, low - 0.5 * (high - low + 1e-3)), high + 0.2 * (high - low + 1e-3))
  axes[2].set_xticks(np.arange(len(names)), names, rotation=30)
  axes[2].set(ylabel="accuracy" if "accuracy" in objective.column else objective.column,
              title="chosen configuration: sweep seeds vs fresh seeds vs test")
  axes[2].legend()
  fig.tight_layout()
  return fig
