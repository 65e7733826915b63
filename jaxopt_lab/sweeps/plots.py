"""Figures of a sweep, read from its `leaderboard` (one row per configuration, best first).

Every function takes the same first three arguments, `(board, hyperparameters, objective)`,
and returns a matplotlib Figure:

- `objective_vs_each`: the objective of every configuration against each hyperparameter
  (mean over seeds, error bars: std over seeds when there are several).
- `isolation`: the Tuning Playbook's isolation plot (Godbole et al. 2023): per hyperparameter,
  the best objective over all the other hyperparameters at each of its values.
- `pair_maps`: one panel per pair of hyperparameters: a heatmap when the pair was searched on
  a grid (found from the data: `is_grid`), a coloured scatter for random draws.
  Each cell holds the best configuration over the other hyperparameters.
- `top_curves`: the training curves of the best configurations (mean over seeds, band:
  min to max over seeds).
- `optimizer_comparison`: several optimizers' sweeps side by side (`report.Chosen`).

What is read from the data: a hyperparameter axis is logarithmic when its values are positive
and span more than a factor 10, symlog when such an axis also holds 0 (e.g. weight decay 0,
1e-4, 1e-3), linear otherwise; the objective's axis is logarithmic for a minimised, positive
objective (a loss, a rate). The colour range of a map spans the better half of the
configurations (worse ones take the end colour: the colorbar's arrow), brighter is better.
The chosen configuration (the board's first usable row) is a star everywhere; configurations
that diverged on any seed are red crosses on a strip of their own under the scores (never at a
y that reads as a score), one cross each; cells no configuration reached are grey. Legends sit
below the axes, so they cover nothing.
"""
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.report import Chosen

CHOSEN = dict(marker="*", ms=15, color="gold", mec="k", mew=1.0, ls="none", zorder=5)
CHOSEN_ON_MAP = {**CHOSEN, "color": "white", "mew": 1.5}  # gold would vanish on yellow cells
DIVERGED = dict(marker="x", ms=7, mew=1.8, color="tab:red", ls="none")
NOT_RUN = "0.82"  # the face colour of map cells no configuration reached
MAX_TICKS = 6     # tick labels per categorical axis, at most (more collide)


def scale_of(values) -> str:
  """'log' for positive values spanning more than a factor 10, 'symlog' when the values are
  0 and positives spanning more than a factor 10, 'linear' otherwise."""
  values = np.asarray(values, np.float64)
  values = values[np.isfinite(values)]
  positive = values[values > 0]
  if len(positive) == 0 or values.min() < 0 or positive.max() / positive.min() <= 10:
    return "linear"
  return "log" if len(positive) == len(values) else "symlog"


def set_scale(ax, which: str, values) -> str:
  """Sets the x or y scale of `ax` from `values` (see `scale_of`); returns it."""
  scale = scale_of(values)
  setter = ax.set_xscale if which == "x" else ax.set_yscale
  if scale == "symlog":  # linear from 0 to the smallest positive value, logarithmic above
    values = np.asarray(values, np.float64)
    setter("symlog", linthresh=float(values[values > 0].min()), linscale=0.5)
  else:
    setter(scale)
  return scale


def objective_scale(values, objective: Objective) -> str:
  """'log' for a minimised objective whose values are all positive, 'linear' otherwise."""
  values = np.asarray(values, np.float64)
  values = values[np.isfinite(values)]
  return "log" if not objective.maximize and len(values) and values.min() > 0 else "linear"


def is_grid(board: pd.DataFrame, names) -> bool:
  """Whether the values of `names` in `board` lie on a grid: at least 2 values each, and at
  least half of all their combinations present (a grid with cells missing is still a grid),
  rather than random draws, whose values rarely repeat."""
  counts = [board[name].nunique() for name in names]
  combinations = len(board[list(names)].drop_duplicates())
  return min(counts) >= 2 and 2 * combinations >= int(np.prod(counts))


def usable(board: pd.DataFrame) -> pd.DataFrame:
  """Configurations that diverged on no seed and have a score."""
  return board[(board["diverged"] == 0) & board["mean"].notna()]


def best_at_each(board: pd.DataFrame, name: str, objective: Objective) -> pd.DataFrame:
  """The best usable configuration at each value of `name` (the board is sorted best first)."""
  return usable(board).drop_duplicates(name).sort_values(name)


def _seeds(board) -> int:
  return int(board["seeds"].max()) if "seeds" in board and len(board) else 1


def _panels(count: int, strip: bool, width: float = 4.4):
  """A row of `count` panels, each over a short strip for diverged configurations."""
  rows = dict(nrows=2, height_ratios=[6, 1]) if strip else dict(nrows=1)
  fig, axes = plt.subplots(ncols=count, figsize=(width * count, 4.4 if strip else 3.9),
                           squeeze=False, layout="constrained", sharex="col", **rows)
  return fig, axes[0], (axes[1] if strip else [None] * count)


def _diverged_strip(ax, board: pd.DataFrame, name: str, drawn) -> None:
  """One red cross per diverged configuration at its value of `name`, stacked when several
  share a value."""
  failed = board[board["diverged"] > 0]
  height = failed.groupby(name).cumcount().to_numpy() + 1
  ax.plot(failed[name], height, **DIVERGED, label="diverged on a seed (one cross each)")
  ax.set_ylim(0.3, height.max(initial=1) + 0.7)
  ax.set_yticks([])
  ax.set_xlabel(name)
  ax.set_ylabel("diverged", rotation=0, ha="right", va="center")  # upright: fits the strip
  drawn.setdefault("diverged on a seed (one cross each)", ax.lines[-1])


def _legend(fig, handles: dict, ncols: int = 3) -> None:
  """One legend for the figure, below its axes, in as many columns (up to `ncols`) as fit."""
  if handles:
    entry = 0.62 + 0.068 * max(len(label) for label in handles)  # inches, at 8 pt
    fits = max(1, int(fig.get_figwidth() / entry))
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncols=min(len(handles), ncols, fits))


def _with_spread(ax, x, y, spread, style) -> Line2D:
  """Points `y` at `x` with error bars of +- `spread` (none where it is NaN); the points'
  line is returned as the legend handle."""
  ax.errorbar(x, y, yerr=np.nan_to_num(np.asarray(spread, float)), fmt="none", capsize=0,
              lw=1.0, color=style.get("color"), alpha=style.get("alpha"))
  return ax.plot(x, y, **style)[0]


def _chosen(board: pd.DataFrame):
  good = usable(board)
  return good.iloc[0] if len(good) else None


def _score_panel(ax, points: pd.DataFrame, name: str, seeds: int, drawn: dict, label: str,
                 style) -> None:
  if seeds > 1:
    line = _with_spread(ax, points[name], points["mean"], points["std"], style)
    drawn.setdefault(f"{label} (mean ± std over {seeds} seeds)", line)
  else:
    drawn.setdefault(f"{label} (one seed)", ax.plot(points[name], points["mean"], **style)[0])


def _per_hyperparameter(board, hyperparameters, objective, points_of, label, style, title):
  failed = bool((board["diverged"] > 0).any())
  fig, axes, strips = _panels(len(hyperparameters), failed)
  drawn, seeds, chosen = {}, _seeds(board), _chosen(board)
  for ax, strip, name in zip(axes, strips, hyperparameters):
    points = points_of(name)
    if len(points):
      _score_panel(ax, points, name, seeds, drawn, label, style)
    if chosen is not None:
      drawn.setdefault("chosen", ax.plot(chosen[name], chosen["mean"], **CHOSEN)[0])
    set_scale(ax, "x", board[name])
    ax.set_yscale(objective_scale(usable(board)["mean"], objective))
    ax.set(ylabel=f"{objective.column}", title=title.format(name=name))
    if strip is not None:
      _diverged_strip(strip, board, name, drawn)
      ax.tick_params(labelbottom=False)
    else:
      ax.set_xlabel(name)
  _legend(fig, drawn)
  return fig


def objective_vs_each(board: pd.DataFrame, hyperparameters, objective: Objective):
  """One panel per hyperparameter: every configuration's mean objective over seeds (error
  bars: std over seeds, when several), the chosen one starred, diverged ones underneath."""
  return _per_hyperparameter(
      board, hyperparameters, objective, lambda name: usable(board), "a configuration",
      dict(marker="o", ms=4, ls="none", color="tab:blue", alpha=0.75),
      f"{objective.column} vs {{name}}")


def isolation(board: pd.DataFrame, hyperparameters, objective: Objective):
  """The Tuning Playbook's isolation plot: per hyperparameter, the best mean objective over
  every other hyperparameter at each of its values (error bars: that configuration's std over
  seeds), the chosen configuration starred and diverged ones underneath. Random draws, whose
  values rarely repeat, give one point per configuration."""
  return _per_hyperparameter(
      board, hyperparameters, objective, lambda name: best_at_each(board, name, objective),
      "the best configuration at this value",
      dict(marker="o", ms=5, ls="-", color="tab:blue"),
      "the best at each {name}")


def _norm(values, objective: Objective):
  """A colour norm spanning the better half of `values`, and the colorbar end worse values
  are clipped to; the colour map is reversed for a minimised objective (brighter is better)."""
  values = np.asarray(values, np.float64)
  values = values[np.isfinite(values)]
  if not len(values):
    return Normalize(0, 1), "neither"
  best = values.max() if objective.maximize else values.min()
  middle = float(np.median(values))
  if middle == best:
    middle = values.min() if objective.maximize else values.max()
  low, high = sorted([best, middle]) if middle != best else (best - 0.5, best + 0.5)
  log = objective_scale(values, objective) == "log" and high / low > 10
  norm = LogNorm(low, high) if log else Normalize(low, high)
  worse = values < low if objective.maximize else values > high
  return norm, ("neither" if not worse.any() else "min" if objective.maximize else "max")


def _cmap(objective: Objective):
  return plt.get_cmap("viridis" if objective.maximize else "viridis_r").with_extremes(
      bad=NOT_RUN)


def _ticks(ax, which: str, values) -> None:
  """Categorical ticks labelled with `values`, at most MAX_TICKS of them."""
  step = int(np.ceil(len(values) / MAX_TICKS))
  where = np.arange(0, len(values), step)
  labels = [f"{values[i]:.3g}" for i in where]
  if which == "x":
    ax.set_xticks(where, labels, rotation=45 if len(where) > 4 else 0,
                  ha="right" if len(where) > 4 else "center")
  else:
    ax.set_yticks(where, labels)


def _heatmap(ax, board, x, y, objective, norm, cmap, drawn):
  best = usable(board).drop_duplicates([x, y])
  xs, ys = np.sort(board[x].unique()), np.sort(board[y].unique())
  grid = np.full((len(ys), len(xs)), np.nan)
  grid[np.searchsorted(ys, best[y]), np.searchsorted(xs, best[x])] = best["mean"]
  image = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, norm=norm,
                    interpolation="nearest")
  reached = board.drop_duplicates([x, y])
  failed = reached.merge(best[[x, y]], how="left", on=[x, y], indicator=True)
  failed = failed[failed["_merge"] == "left_only"]
  if len(failed):
    drawn.setdefault("diverged on a seed (every configuration of the cell)", ax.plot(
        np.searchsorted(xs, failed[x]), np.searchsorted(ys, failed[y]), **DIVERGED)[0])
  if len(reached) < grid.size:
    drawn.setdefault("not run", Patch(color=NOT_RUN))
  chosen = _chosen(board)
  if chosen is not None:
    drawn.setdefault("chosen", ax.plot(np.searchsorted(xs, chosen[x]),
                                       np.searchsorted(ys, chosen[y]), **CHOSEN_ON_MAP)[0])
  _ticks(ax, "x", xs)
  _ticks(ax, "y", ys)
  ax.grid(False)
  return image


def _scatter(ax, board, x, y, objective, norm, cmap, drawn):
  good = usable(board)
  image = ax.scatter(good[x], good[y], c=good["mean"], cmap=cmap, norm=norm, s=30,
                     edgecolors="none")
  drawn.setdefault("a configuration (random draw)", image)
  failed = board[board["diverged"] > 0]
  if len(failed):
    drawn.setdefault("diverged on a seed", ax.plot(failed[x], failed[y], **DIVERGED)[0])
  chosen = _chosen(board)
  if chosen is not None:
    drawn.setdefault("chosen", ax.plot(chosen[x], chosen[y], **CHOSEN_ON_MAP)[0])
  set_scale(ax, "x", board[x])
  set_scale(ax, "y", board[y])
  return image


def pair_maps(board: pd.DataFrame, hyperparameters, objective: Objective):
  """One panel per pair of hyperparameters, the colour the best mean objective over the other
  hyperparameters: a heatmap (equal cells, values as tick labels) when the pair holds every
  combination of its values (`is_grid`), a scatter on data axes for random draws."""
  pairs = list(itertools.combinations(hyperparameters, 2))
  fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.8), squeeze=False,
                           layout="constrained")
  norm, extend = _norm(usable(board)["mean"], objective)
  cmap, drawn = _cmap(objective), {}
  for ax, (x, y) in zip(axes[0], pairs):
    draw = _heatmap if is_grid(board, (x, y)) else _scatter
    image = draw(ax, board, x, y, objective, norm, cmap, drawn)
    label = f"{objective.column}" + (" (best over the others)" if len(pairs) > 1 else "")
    fig.colorbar(image, ax=ax, label=label, extend=extend)
    ax.set(xlabel=x, ylabel=y, title=f"{x} × {y}")
  _legend(fig, drawn)
  return fig


def top_curves(board: pd.DataFrame, hyperparameters, objective: Objective, curves: dict,
               table: pd.DataFrame, top: int = 5, eval_steps=None):
  """Each curve (name -> [rows of `table`, length]) of the `top` configurations: the mean over
  seeds, a band from the lowest to the highest seed; curves other than the per-step ones are
  drawn at `eval_steps` when their lengths match. Loss-like curves (every value positive and
  a name with 'loss' or 'distance') are drawn on a log axis."""
  names = list(curves)
  fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.9), squeeze=False,
                           layout="constrained")
  chosen, drawn = usable(board).head(top), {}
  colors = plt.get_cmap("tab10")
  for ax, name in zip(axes[0], names):
    for rank, row in enumerate(chosen.itertuples()):
      runs = curves[name][table.index[table.config == row.config]]
      values = np.nanmean(runs, axis=0)
      steps = eval_steps if eval_steps is not None and len(eval_steps) == len(values) \
          else np.arange(len(values))
      setting = ", ".join(f"{h}={getattr(row, h):.3g}" for h in hyperparameters)
      line, = ax.plot(steps, values, lw=2 if rank == 0 else 1.1, color=colors(rank))
      if len(runs) > 1:
        ax.fill_between(steps, np.nanmin(runs, 0), np.nanmax(runs, 0), color=colors(rank),
                        alpha=0.15, lw=0)
      drawn.setdefault(f"#{rank + 1}{' (chosen)' if rank == 0 else ''}: {setting}", line)
    shown = curves[name][table.config.isin(chosen.config).to_numpy()]
    if ("loss" in name or "distance" in name) and np.nanmin(shown, initial=np.inf) > 0:
      ax.set_yscale("log")
    ax.set(xlabel="step", ylabel=name, title=f"{name}, top {len(chosen)}")
  seeds = _seeds(board)
  _legend(fig, drawn)
  fig.suptitle(f"The best configurations by {objective.column}"
               + (f": mean over {seeds} seeds, band from the lowest to the highest seed"
                  if seeds > 1 else ""), fontsize=10)
  return fig


CHOSEN_SHAPES = "*DPXs^vo"  # one shape per optimizer: chosen points that coincide stay visible


def optimizer_comparison(chosen: list[Chosen], objective: Objective, eval_steps=None):
  """Several optimizers' sweeps side by side: the objective against the learning rate (or the
  first hyperparameter every sweep shares; a dot per configuration, seeds averaged; the line:
  the best at each value; a hollow shape: the chosen one), the chosen configurations'
  validation curves, and their scores on the sweep's seeds, on fresh seeds and on the test set
  (error bars: std over seeds), on an axis that covers the error bars rather than starting
  from 0."""
  colors = plt.get_cmap("tab10")
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), layout="constrained")
  drawn = {}
  shared = [name for name in chosen[0].board.columns
            if all(name in c.board and name in c.summary for c in chosen)]
  x = "learning_rate" if "learning_rate" in shared else next(
      (name for name in shared if name not in ("config", "mean")), None)
  for i, (row, curves, board) in enumerate(chosen):
    color, shape = colors(i), CHOSEN_SHAPES[i % len(CHOSEN_SHAPES)]
    good = usable(board)
    if x is not None:
      axes[0].plot(good[x], good["mean"], "o", ms=3, alpha=0.35, color=color)
      line = best_at_each(board, x, objective)
      axes[0].plot(line[x], line["mean"], "-", color=color)
      axes[0].plot(row[x], row["sweep_mean"], shape, ms=12, mfc="none", mew=2, color=color,
                   zorder=5)
    drawn[row["optimizer"]] = Line2D([], [], color=color, marker="o", ls="-")
    drawn[f"{row['optimizer']} chosen"] = Line2D([], [], color=color, marker=shape, ms=9,
                                                 mfc="none", mew=2, ls="none")
    curve_name = "val_accuracy" if "val_accuracy" in curves else next(
        (k for k in curves if k.startswith("val_")), next(iter(curves)))
    values = curves[curve_name]
    steps = eval_steps if eval_steps is not None and len(eval_steps) == len(values) \
        else np.arange(len(values))
    axes[1].plot(steps, values, color=color)
  if x is None:  # the sweeps share no hyperparameter to draw against
    axes[0].set_visible(False)
  else:
    set_scale(axes[0], "x", pd.concat([c.board[x] for c in chosen]))
    axes[0].set_yscale(objective_scale([c.summary["sweep_mean"] for c in chosen], objective))
    axes[0].set(xlabel=x, ylabel=f"mean {objective.column}",
                title=f"{objective.column} vs {x}\n(dot: a configuration, line: the best, "
                      "shape: chosen)")
  if "loss" in curve_name:
    axes[1].set_yscale("log")
  axes[1].set(xlabel="step", ylabel=curve_name,
              title=f"{curve_name} of each chosen configuration")
  _scores(axes[2], [c.summary for c in chosen], objective, drawn)
  _legend(fig, drawn, ncols=2 * len(chosen) + 3)
  return fig


def _scores(ax, rows, objective: Objective, drawn: dict) -> None:
  """Each optimizer's chosen configuration: sweep seeds, fresh seeds and test, ± std."""
  kinds = [("sweep seeds (biased upwards)", "sweep_mean", "sweep_std", "o"),
           ("fresh seeds", "fresh_mean", "fresh_std", "s")]
  if all("test_accuracy_mean" in row for row in rows):
    kinds.append(("test set (mean over fresh seeds)", "test_accuracy_mean", None, "D"))
  spreads = False
  for j, (label, mean, std, marker) in enumerate(kinds):
    where = np.arange(len(rows)) + (j - (len(kinds) - 1) / 2) * 0.22
    spread = [row.get(std, np.nan) if std else np.nan for row in rows]
    spreads |= bool(np.isfinite(spread).any())
    drawn[label] = _with_spread(ax, where, [row[mean] for row in rows], spread,
                                dict(marker=marker, ls="none", color=f"C{j}"))
  ax.set_xticks(np.arange(len(rows)), [row["optimizer"] for row in rows], rotation=30)
  ax.set(xlabel="optimizer", ylabel=objective.column,
         title="chosen configuration " + ("(error bars: std over seeds)" if spreads else
                                          "(one seed each: spread unknown)"))
