"""Every optimizer training the same digits MLP (64-64-10, ReLU), each at its tuned learning rate.

Every optimizer x learning rate (a log grid) x seed trains in ONE vmapped program, compiled
once: the optimizer is a traced index into the list (`one_of`). For each optimizer the rate
with the best mean final validation accuracy is kept (the test set plays no part in the
choice), and its runs give the curves and the test accuracy. Writes curves.png (training loss,
validation loss and accuracy per step), learning_rates.png (validation accuracy against the
rate: the tuning itself), per_class.png (test precision and recall per digit of the winner),
test_accuracy.csv (one row per optimizer), learning_rates.csv (every run) and curves.csv.
"""
import argparse
import time
from pathlib import Path

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jaxopt_lab.studies import names_in
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim.combine import one_of
from jaxopt_lab.studies._digits import MODEL, budget, smooth, sweep

DESCRIPTION = "Every optimizer on the same digits MLP at its tuned learning rate (PNG + CSV)."


def learning_rates(quick: bool) -> np.ndarray:
  return np.logspace(-3, -1, 3) if quick else np.logspace(-4, 0, 13)


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


def tune(names: list, rates: np.ndarray, quick: bool):
  """Every optimizer x rate x seed in one program; the grid table and each winner's runs."""
  plan = budget(quick)

  def build(hparams):
    index = hparams["optimizer"].astype(jnp.int32)
    return one_of([BY_NAME[name](hparams["learning_rate"]) for name in names], index), None

  began = time.perf_counter()
  result = sweep(build, {"optimizer": np.repeat(np.arange(len(names)), len(rates)),
                         "learning_rate": np.tile(rates, len(names))}, plan, quick)
  seconds = time.perf_counter() - began
  table = result.table.assign(optimizer=[names[i // len(rates)] for i in result.table.config])
  summaries, curves = [], {}
  for name in names:
    rows = np.flatnonzero((table.optimizer == name) &
                          (table.config == best_config(table[table.optimizer == name])))
    chosen = table.iloc[rows]
    rate = float(chosen.learning_rate.iloc[0])
    test = chosen.test_accuracy.to_numpy()
    own = table[table.optimizer == name]
    summaries.append({
        "optimizer": name, "learning_rate": rate,
        "rate_at_grid_edge": bool(np.isclose(rate, rates.min()) or np.isclose(rate, rates.max())),
        "val_accuracy": chosen.final_val_accuracy.mean(), "test_accuracy": test.mean(),
        "test_accuracy_std": test.std(),
        "test_accuracy_per_seed": " ".join(f"{a:.4f}" for a in test),
        "final_train_loss": float(smooth(result.curves["train_loss"][rows])[:, -1].mean()),
        "runs_in_grid": len(own), "diverged_in_grid": int(own.diverged.sum()),
        "steps": plan.steps})
    curves[name] = {k: result.curves[k][rows].mean(0) for k in
                    ("train_loss", "val_loss", "val_accuracy", "test_precision", "test_recall")}
  print(f"{len(table)} runs in {seconds:.1f} s (compilation included)")
  return table, pd.DataFrame(summaries), curves


def main(args: argparse.Namespace) -> list[Path]:
  names = names_in("--optimizer", args.optimizers, BY_NAME)
  rates, plan = learning_rates(args.quick), budget(args.quick)
  print(f"{MODEL}: {len(names)} optimizers x {len(rates)} learning rates x "
        f"{len(plan.seeds)} seeds x {plan.steps} steps, in one program")
  grid, summary, curves = tune(names, rates, args.quick)
  for row in summary.itertuples():
    print(f"  {row.optimizer:9s} lr {row.learning_rate:.3g}: test accuracy {row.test_accuracy:.4f}")
  out = Path(args.out)
  columns = ["optimizer", "learning_rate", "seed", "final_val_accuracy", "final_val_loss",
             "test_accuracy", "test_loss", "diverged"]
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
                          "step": np.arange(1, plan.steps + 1), "train_loss": c["train_loss"]})
    validation = pd.DataFrame({"step": plan.eval_steps, "val_loss": c["val_loss"],
                               "val_accuracy": c["val_accuracy"]})
    frames.append(frame.merge(validation, on="step", how="left"))
  return pd.concat(frames, ignore_index=True)


def _label(row) -> str:
  return f"{row.optimizer}, lr {row.learning_rate:.2g}: test {row.test_accuracy:.1%}"


LINE_STYLES = ["-", "--", "-.", ":"]


def plot_curves(curves, summary, plan):
  colors = plt.get_cmap("tab10")
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
  for i, row in enumerate(summary.itertuples()):
    c = curves[row.optimizer]
    style = dict(color=colors(i), ls=LINE_STYLES[i % len(LINE_STYLES)], lw=1.3)
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
  fig.tight_layout(rect=(0, 0.1, 1, 1))
  fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncols=4, fontsize=9)
  return fig


def plot_rates(grid, summary):
  colors = plt.get_cmap("tab10")
  fig, ax = plt.subplots(figsize=(7.5, 4.6))
  for i, row in enumerate(summary.itertuples()):
    runs = grid[grid.optimizer == row.optimizer]
    means = runs.groupby("learning_rate").final_val_accuracy.mean()
    ax.semilogx(means.index, means.to_numpy(), ".-", color=colors(i), label=row.optimizer)
    ax.semilogx(row.learning_rate, row.val_accuracy, "*", color=colors(i), ms=12)
  ax.set(xlabel="learning rate", ylabel="final validation accuracy (mean over seeds)",
         title="Tuning: validation accuracy against the learning rate (star: chosen)",
         ylim=(0, 1.02))
  ax.legend(ncols=2)
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
         ylim=(max(0.0, lowest - 0.05), 1.0),
         title=f"Per-class test precision and recall of {row.optimizer} "
               f"(lr {row.learning_rate:.2g}, accuracy {row.test_accuracy:.1%})")
  ax.legend(loc="lower right")
  return fig
