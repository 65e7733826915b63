"""Every sweep figure rendered headless on small made-up sweeps and read without eyes: scales
from the data, labels, the chosen star, diverged configurations explained, nothing cut off."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from figure_checks import review, unexplained_markers  # noqa: E402
from jaxopt_lab.sweeps import plots  # noqa: E402
from jaxopt_lab.sweeps.objective import Objective  # noqa: E402
from jaxopt_lab.sweeps.report import Chosen, leaderboard  # noqa: E402

ACCURACY = Objective("best_val_accuracy", maximize=True)
LOSS = Objective("final_train_loss", maximize=False)


def sweep(columns: dict, seeds: int, score, diverged=()) -> pd.DataFrame:
  """A sweep table: every configuration of `columns` x `seeds`, scored by `score(row)` plus
  seed noise; configurations whose index is in `diverged` diverge on seed 0."""
  rng = np.random.default_rng(0)
  count = len(next(iter(columns.values())))
  rows = []
  for config in range(count):
    for seed in range(seeds):
      row = {name: values[config] for name, values in columns.items()}
      failed = config in diverged and seed == 0
      value = np.nan if failed else score(row) * (1 + 0.01 * rng.standard_normal())
      rows.append({**row, "config": config, "seed": seed, "diverged": failed,
                   "best_val_accuracy": value, "final_train_loss": value})
  return pd.DataFrame(rows)


def grid(**axes) -> dict:
  mesh = np.meshgrid(*axes.values(), indexing="ij")
  return {name: values.ravel() for name, values in zip(axes, mesh)}


def accuracy(row):
  return 0.95 - 0.1 * np.log10(row["learning_rate"] / 0.03) ** 2 - 20 * row["weight_decay"]


GRID = grid(learning_rate=np.geomspace(1e-4, 1, 9), weight_decay=np.array([0, 1e-4, 1e-3, 1e-2]))
TABLE = sweep(GRID, seeds=3, score=accuracy, diverged={32, 33, 34, 35})  # lr 1: all diverge
BOARD = leaderboard(TABLE, ["learning_rate", "weight_decay"], ACCURACY)
NAMES = ["learning_rate", "weight_decay"]


def score_axes(fig):
  """The axes that carry scores (not the diverged strips, not colorbars)."""
  return [ax for ax in fig.axes if ax.get_title()]


def chosen_stars(ax):
  return [line for line in ax.lines if line.get_marker() == "*"]


def figure_legend(fig):
  (legend,) = fig.legends
  return [text.get_text() for text in legend.get_texts()]


@pytest.mark.parametrize("draw", [plots.objective_vs_each, plots.isolation])
def test_per_hyperparameter_plots_read_from_the_data(draw):
  fig = draw(BOARD, NAMES, ACCURACY)
  assert review(fig) == []
  panels = score_axes(fig)
  assert [ax.get_xscale() for ax in panels] == ["log", "symlog"]  # weight decay holds 0
  assert all(ax.get_yscale() == "linear" and ax.get_ylabel() == ACCURACY.column
             for ax in panels)
  best = BOARD.iloc[0]
  for ax, name in zip(panels, NAMES):
    (star,) = chosen_stars(ax)
    assert star.get_xydata().tolist() == [[best[name], best["mean"]]]
  strips = [ax for ax in fig.axes if ax.get_ylabel() == "diverged"]
  assert len(strips) == 2  # the four lr = 1 configurations, one cross each, stacked
  crosses = strips[0].lines[0].get_xydata()
  assert sorted(crosses[:, 1]) == [1, 2, 3, 4] and set(crosses[:, 0]) == {1.0}
  entries = figure_legend(fig)
  assert "chosen" in entries and any("diverged" in entry for entry in entries)
  assert any("std over 3 seeds" in entry for entry in entries)
  assert [unexplained_markers(ax) for ax in fig.axes] == [[]] * len(fig.axes)
  plt.close(fig)


def test_the_isolation_plot_draws_the_best_at_each_value():
  fig = plots.isolation(BOARD, NAMES, ACCURACY)
  ax = score_axes(fig)[1]
  (points,) = [line for line in ax.lines if line.get_marker() == "o"]
  xs, means = points.get_xydata().T
  assert points.get_linestyle() == "-" and ax.get_ylabel() == ACCURACY.column
  usable = BOARD[BOARD.diverged == 0]
  expected = usable.groupby("weight_decay")["mean"].max()
  assert xs.tolist() == expected.index.tolist() and np.allclose(means, expected.to_numpy())
  plt.close(fig)


def test_a_loss_objective_gets_a_log_axis_and_one_seed_no_error_bars():
  table = sweep(GRID, seeds=1, score=lambda row: 1e-3 / (1.01 - accuracy(row)))
  board = leaderboard(table, NAMES, LOSS)
  fig = plots.objective_vs_each(board, NAMES, LOSS)
  assert review(fig) == []
  assert [ax.get_yscale() for ax in score_axes(fig)] == ["log", "log"]
  assert not any(ax.containers for ax in fig.axes)  # one seed: no spread to draw
  assert any("one seed" in entry for entry in figure_legend(fig))
  plt.close(fig)


def test_a_grid_gives_heatmaps_that_resolve_the_good_region():
  fig = plots.pair_maps(BOARD, NAMES, ACCURACY)
  assert review(fig) == []
  ax = score_axes(fig)[0]
  (image,) = ax.images  # a heatmap, not a scatter, found from the data (no grids= argument)
  usable = BOARD[BOARD.diverged == 0]["mean"]
  assert image.norm.vmax == pytest.approx(usable.max())
  assert image.norm.vmin == pytest.approx(usable.median())  # the better half spans the colours
  assert len(ax.get_xticklabels()) <= plots.MAX_TICKS
  (star,) = chosen_stars(ax)
  best = BOARD.iloc[0]
  cell = [list(np.unique(GRID[name])).index(best[name]) for name in NAMES]
  assert star.get_xydata().tolist() == [cell]
  (crosses,) = [line for line in ax.lines if line.get_marker() == "x"]
  assert len(crosses.get_xdata()) == 4  # the lr = 1 column: every cell diverged
  entries = figure_legend(fig)
  assert {"chosen", "diverged on a seed (every configuration of the cell)"} <= set(entries)
  assert fig.axes[1].get_ylabel() == ACCURACY.column  # the colorbar says what the colour is
  plt.close(fig)


def test_random_draws_give_a_scatter_on_data_axes_and_missing_cells_are_grey():
  rng = np.random.default_rng(1)
  draws = {"learning_rate": 10 ** rng.uniform(-4, 0, 40),
           "weight_decay": rng.uniform(2e-3, 1e-2, 40)}
  board = leaderboard(sweep(draws, 2, accuracy, diverged={0}), NAMES, ACCURACY)
  fig = plots.pair_maps(board, NAMES, ACCURACY)
  assert review(fig) == []
  ax = score_axes(fig)[0]
  assert not ax.images and (ax.get_xscale(), ax.get_yscale()) == ("log", "linear")
  assert len(chosen_stars(ax)) == 1
  plt.close(fig)
  partial = BOARD[BOARD.learning_rate != BOARD.learning_rate.min()].iloc[1:]  # a cell not run
  fig = plots.pair_maps(partial.reset_index(drop=True), NAMES, ACCURACY)
  assert "not run" in figure_legend(fig) and review(fig) == []
  plt.close(fig)


def test_top_curves_take_the_objective_and_keep_every_value_in_view():
  table = TABLE
  steps = np.arange(30)
  loss = np.exp(-np.outer(table.learning_rate, steps)) + 1e-9
  loss[table.index[table.config == BOARD.config.iloc[4]]] *= np.logspace(0, 11, 30)  # swings
  curves = {"train_loss": loss, "val_accuracy": 1 - loss[:, ::10].clip(0, 1)}
  fig = plots.top_curves(BOARD, NAMES, ACCURACY, curves, table, top=5,
                         eval_steps=steps[::10])
  assert review(fig) == []
  first, second = score_axes(fig)
  assert (first.get_yscale(), second.get_yscale()) == ("log", "linear")
  top = loss[table.config.isin(BOARD.config.head(5)).to_numpy()]
  low, high = first.get_ylim()
  assert low <= top.min() and high >= top.max()  # nothing clipped
  assert len(first.lines) == 5 and len(first.collections) == 5  # a band per configuration
  assert figure_legend(fig)[0].startswith("#1 (chosen): learning_rate=")
  plt.close(fig)


def test_the_optimizer_comparison_shows_spread_and_every_mark_is_explained():
  chosen = []
  for i, name in enumerate(["sgd", "momentum", "adam"]):
    board = BOARD.assign(mean=BOARD["mean"] - 0.002 * i)
    row = board.iloc[0]
    summary = {"optimizer": name, "learning_rate": row.learning_rate, "sweep_mean": row["mean"],
               "sweep_std": 0.004, "fresh_mean": row["mean"] - 0.003, "fresh_std": 0.005,
               "test_accuracy_mean": row["mean"] - 0.004}
    chosen.append(Chosen(summary, {"val_accuracy": np.linspace(0.5, 0.95, 4)}, board))
  fig = plots.optimizer_comparison(chosen, ACCURACY, eval_steps=np.arange(4) * 10)
  assert review(fig) == []
  lr_axes, _, scores = fig.axes
  assert lr_axes.get_xscale() == "log"
  shapes = [line.get_marker() for line in lr_axes.lines if line.get_markersize() == 12]
  assert len(set(shapes)) == 3  # coinciding chosen points stay apart by shape
  entries = figure_legend(fig)
  assert {"sgd", "sgd chosen", "adam chosen"} <= set(entries)
  assert len(scores.containers) == 3  # sweep, fresh, test: points with error bars, not bars
  bars = scores.containers[1].lines[2][0].get_segments()
  assert np.isclose(bars[0][1, 1] - bars[0][0, 1], 2 * 0.005)
  plt.close(fig)


@pytest.mark.parametrize("values, scale", [([1e-4, 1e-3, 1e-1], "log"), ([0, 1e-4, 1e-2], "symlog"),
                                           ([0.8, 0.9, 0.99], "linear"), ([-1, 1, 100], "linear"),
                                           ([0, 1, 5], "linear")])
def test_scale_of(values, scale):
  assert plots.scale_of(values) == scale
