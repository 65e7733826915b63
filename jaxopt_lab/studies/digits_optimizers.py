"""Every optimizer training the same digits MLP (64-64-10, ReLU), each tuned by its own sweep.

Each optimizer gets its own vmapped sweep, compiled once: learning rates on a log grid (13
from 1e-4 to 1, shifted for the optimizers whose rates live elsewhere: sign methods lower,
Adadelta and LARS higher) x seeds, and for every optimizer with a weight_decay option
(AdamW, Lion, LAMB, Adafactor, Muon, schedule-free AdamW with decoupled decay; LARS with
its coupled one) x weight decays 0, 1e-4, ..., 1e-1 too: their rows are tuned in one more
dimension than Adam's, and say which decay won. For each optimizer the configuration with
the best mean final validation accuracy is kept (the test set plays no part in the choice),
and its runs give the curves and the test accuracy. Writes curves.png (training loss,
validation loss and accuracy per step), learning_rates.png (validation accuracy against the
rate: the tuning itself), per_class.png (test precision and recall per digit of the winner),
test_accuracy.csv (one row per optimizer), learning_rates.csv (every run) and curves.csv.
"""
import argparse
import inspect
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jaxopt_lab.studies import names_in
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.studies._digits import MODEL, budget, smooth, sweep

DESCRIPTION = "Every optimizer on the same digits MLP, each tuned by its own sweep (PNG + CSV)."
RATE_DECADES = {"sign_sgd": (-5, -1), "lion": (-5, -1), "rprop": (-5, -1),
                "adadelta": (-2, 2), "lars": (-2, 2)}  # others: 1e-4 to 1
WEIGHT_DECAYS = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)


def learning_rates(name: str, quick: bool) -> np.ndarray:
  """13 rates over the optimizer's four decades; 3 over its middle two with --quick."""
  low, high = RATE_DECADES.get(name, (-4, 0))
  return np.logspace(low + 1, high - 1, 3) if quick else np.logspace(low, high, 13)


def weight_decays(name: str, quick: bool) -> tuple:
  """The decays swept for an optimizer with a weight_decay option; (None,) for the others."""
  if "weight_decay" not in inspect.signature(BY_NAME[name]).parameters:
    return (None,)
  return (0.0, 1e-2) if quick else WEIGHT_DECAYS


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--optimizer", "--optimizers", dest="optimizers", metavar="NAMES",
                      default=",".join(BY_NAME),
                      help=f"comma-separated optimizers of {', '.join(BY_NAME)} (default: all)")


def best_config(table: pd.DataFrame) -> int:
  """The configuration with the highest mean final validation accuracy (then lowest loss)."""
  means = table.groupby("config")[["final_val_accuracy", "final_val_loss"]].mean()
  means = means.fillna({"final_val_accuracy": 0.0, "final_val_loss": np.inf})
  return int(means.sort_values(["final_val_accuracy", "final_val_loss"],
                               ascending=[False, True]).index[0])


def tune_one(name: str, quick: bool):
  """One optimizer's sweep: its grid table (with the chosen configuration's rows) and curves."""
  plan, rates, decays = budget(quick), learning_rates(name, quick), weight_decays(name, quick)
  columns = {"learning_rate": np.tile(rates, len(decays))}
  if decays != (None,):
    columns["weight_decay"] = np.repeat(decays, len(rates))

  def build(hparams):
    options = {"weight_decay": hparams["weight_decay"]} if "weight_decay" in hparams else {}
    return BY_NAME[name](hparams["learning_rate"], **options), None

  result = sweep(build, columns, plan, quick)
  table = result.table.assign(optimizer=name)
  if "weight_decay" not in table:
    table["weight_decay"] = np.nan
  rows = np.flatnonzero(table.config == best_config(table))
  chosen = table.iloc[rows]
  rate, test = float(chosen.learning_rate.iloc[0]), chosen.test_accuracy.to_numpy()
  summary = {
      "optimizer": name, "learning_rate": rate, "weight_decay": chosen.weight_decay.iloc[0],
      "rate_at_grid_edge": bool(np.isclose(rate, rates.min()) or np.isclose(rate, rates.max())),
      "val_accuracy": chosen.final_val_accuracy.mean(), "test_accuracy": test.mean(),
      "test_accuracy_std": test.std(),
      "test_accuracy_per_seed": " ".join(f"{a:.4f}" for a in test),
      "final_train_loss": float(smooth(result.curves["train_loss"][rows])[:, -1].mean()),
      "runs_in_grid": len(table), "diverged_in_grid": int(table.diverged.sum()),
      "steps": plan.steps}
  curves = {k: result.curves[k][rows].mean(0) for k in
            ("train_loss", "val_loss", "val_accuracy", "test_precision", "test_recall")}
  return table, summary, curves


def tune(names: list, quick: bool):
  """Every optimizer's own sweep; the grid table of all, a summary row and curves for each."""
  tables, summaries, curves = [], [], {}
  began = time.perf_counter()
  for name in names:
    table, summary, curves[name] = tune_one(name, quick)
    tables.append(table)
    summaries.append(summary)
  table = pd.concat(tables, ignore_index=True)
  print(f"{len(table)} runs in {time.perf_counter() - began:.1f} s (compilation included)")
  return table, pd.DataFrame(summaries), curves


def main(args: argparse.Namespace) -> list[Path]:
  names = names_in("--optimizer", args.optimizers, BY_NAME)
  plan = budget(args.quick)
  print(f"{MODEL}: {len(names)} optimizers, each its own sweep of learning rates (and weight "
        f"decays) x {len(plan.seeds)} seeds x {plan.steps} steps")
  grid, summary, curves = tune(names, args.quick)
  for row in summary.itertuples():
    decay = "" if np.isnan(row.weight_decay) else f", weight decay {row.weight_decay:g}"
    print(f"  {row.optimizer:20s} lr {row.learning_rate:.3g}{decay}: test accuracy "
          f"{row.test_accuracy:.4f}")
  out = Path(args.out)
  columns = ["optimizer", "learning_rate", "weight_decay", "seed", "final_val_accuracy",
             "final_val_loss", "test_accuracy", "test_loss", "diverged"]
  return [save_table(summary, out / "test_accuracy.csv"),
          save_table(grid[columns], out / "learning_rates.csv"),
          save_table(curve_table(curves, summary, plan), out / "curves.csv"),
          save_figure(plot_curves(curves, summary, plan), out / "curves.png"),
          save_figure(plot_rates(grid, summary), out / "learning_rates.png"),
          save_figure(plot_per_class(curves, summary), out / "per_class.png")]


def curve_table(curves, summary, plan) -> pd.DataFrame:
  """Long form: optimizer, step, mean training loss; validation columns at evaluation steps."""
  frames = []
  for row in summary.itertuples():
    c = curves[row.optimizer]
    frame = pd.DataFrame({"optimizer": row.optimizer, "learning_rate": row.learning_rate,
                          "weight_decay": row.weight_decay, "step": np.arange(1, plan.steps + 1),
                          "train_loss": c["train_loss"]})
    validation = pd.DataFrame({"step": plan.eval_steps, "val_loss": c["val_loss"],
                               "val_accuracy": c["val_accuracy"]})
    frames.append(frame.merge(validation, on="step", how="left"))
  return pd.concat(frames, ignore_index=True)


def _label(row) -> str:
  decay = "" if np.isnan(row.weight_decay) else f", wd {row.weight_decay:.2g}"
  return f"{row.optimizer}, lr {row.learning_rate:.2g}{decay}: test {row.test_accuracy:.1%}"


LINE_STYLES = ["-", "--", "-.", ":"]


def line_style(i: int) -> dict:
  """The i-th of 40 distinguishable lines: 10 colors, then again in each next line style."""
  return dict(color=plt.get_cmap("tab10")(i % 10), ls=LINE_STYLES[i // 10 % len(LINE_STYLES)])


def plot_curves(curves, summary, plan):
  legend_rows = -(-len(summary) // 4)
  legend_height = 0.22 * legend_rows + 0.25  # inches under the axes, for the legend
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.6 + legend_height))
  for i, row in enumerate(summary.itertuples()):
    c = curves[row.optimizer]
    style = dict(**line_style(i), lw=1.3)
    axes[0].semilogy(np.arange(1, plan.steps + 1), smooth(c["train_loss"]), label=_label(row),
                     **style)
    axes[1].semilogy(plan.eval_steps, c["val_loss"], **style)
    axes[2].plot(plan.eval_steps, c["val_accuracy"], **style)
  axes[0].set(xlabel="step", ylabel="training loss (cross-entropy, mean over one epoch)",
              title="Training loss")
  axes[1].set(xlabel="step", ylabel="validation loss (cross-entropy)", title="Validation loss")
  lowest = min(np.nanmin(curves[name]["val_accuracy"][1:]) for name in curves)
  axes[2].set(xlabel="step", ylabel="validation accuracy", title="Validation accuracy",
              ylim=(max(0.0, lowest - 0.02), 1.0))
  seeds = len(plan.seeds)
  fig.suptitle(f"Digits, {MODEL}: each optimizer at the learning rate with the best validation "
               f"accuracy (mean of {seeds} seed{'s' * (seeds > 1)})")
  fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 1))
  fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncols=4, fontsize=9)
  return fig


def plot_rates(grid, summary):
  """Validation accuracy against the learning rate, at the chosen weight decay for the
  optimizers that swept one (star: the chosen configuration)."""
  fig, ax = plt.subplots(figsize=(11, 5.5))
  for i, row in enumerate(summary.itertuples()):
    runs = grid[grid.optimizer == row.optimizer]
    if not np.isnan(row.weight_decay):
      runs = runs[np.isclose(runs.weight_decay, row.weight_decay)]
    means = runs.groupby("learning_rate").final_val_accuracy.mean()
    style = line_style(i)
    decay = "" if np.isnan(row.weight_decay) else f" (wd {row.weight_decay:.2g})"
    ax.semilogx(means.index, means.to_numpy(), ".", ls=style["ls"], color=style["color"],
                label=row.optimizer + decay)
    ax.semilogx(row.learning_rate, row.val_accuracy, "*", color=style["color"], ms=12)
  ax.set(xlabel="learning rate", ylabel="final validation accuracy (mean over seeds)",
         title="Tuning: validation accuracy against the learning rate, at the chosen weight "
               "decay (star: chosen)", ylim=(0, 1.02))
  ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
  fig.tight_layout()
  return fig


def plot_per_class(curves, summary):
  row = summary.sort_values(["val_accuracy", "test_accuracy"], ascending=False).iloc[0]
  c = curves[row.optimizer]
  digits = np.arange(len(c["test_precision"]))
  fig, ax = plt.subplots(figsize=(7.5, 4.2))
  ax.bar(digits - 0.2, c["test_precision"], 0.4, label="precision = TP / (TP + FP)")
  ax.bar(digits + 0.2, c["test_recall"], 0.4, label="recall = TP / (TP + FN)")
  lowest = min(c["test_precision"].min(), c["test_recall"].min())
  ax.set(xlabel="digit", ylabel="test set (mean over seeds)", xticks=digits,
         ylim=(max(0.0, lowest - 0.05), 1.0))
  ax.set_title(f"Per-class test precision and recall of {_label(row)}", pad=24)
  ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
  fig.tight_layout()
  return fig
