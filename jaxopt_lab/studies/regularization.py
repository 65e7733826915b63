"""Regularization on 150 digits, where overfitting is plain: each regularizer swept, and what
the lectures claim about it measured.

An MLP 64-128-10 (ReLU) trained by Adam (lr 1e-3, batch 32) on the first 150 training
examples of digits fits them perfectly within a few hundred steps, while its validation loss
(360 examples) stalls far above. Each regularizer is swept over its strength: the L2 penalty,
decoupled weight decay (AdamW), dropout, early stopping's patience, the augmentations
(translation, rotation, cutout) and horizontal flips as the counter-example, mixup and label
smoothing. Every configuration and seed is a row of ONE compiled program: every regularizer
is in it, at strength 0 (patience inf: never) where a row does not use it. For each
regularizer the strength with the best mean validation accuracy (of the parameters the run
keeps) is chosen, and only the chosen settings are scored on the test set. Writes

  curves.png          training vs validation loss (the training set in evaluation mode) at
                      each regularizer's chosen strength, against no regularization
  gap.png             final training and validation loss at each chosen strength: the
                      generalization gap, and the training loss paid for a lower validation loss
  strengths.png       validation accuracy against each regularizer's strength
  flips.png           what horizontal flips cost: accuracy against the flip probability next
                      to a rotation, and the validation recall of each digit
  regularization.csv  one row per regularizer at its chosen strength, with its test accuracy
  sweep.csv           every configuration: validation metrics (mean and std over seeds)
  flips.csv           the validation recall of each digit: none, flips, the chosen rotation
"""
import argparse
import math
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
import numpy as np
import optax
import pandas as pd

from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim.blocks import add_decayed_weights, scale_by_adam, scale_by_learning_rate
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.tasks import digits_training
from jaxopt_lab.train.losses import l2, weight_mask

DESCRIPTION = "Every regularizer swept on 150 digits: train vs validation, flips' cost (PNG + CSV)."
TRAIN_SIZE, WIDTHS, BATCH_SIZE, LEARNING_RATE = 150, (128,), 32, 1e-3
MODEL = (f"MLP 64-{'-'.join(map(str, WIDTHS))}-10 (ReLU), Adam lr {LEARNING_RATE:g}, batch "
         f"{BATCH_SIZE}, {TRAIN_SIZE} training examples")


class Regularizer(NamedTuple):
  hyperparameter: str   # the swept column, read by `build` or by the training loop
  unit: str             # what its strength measures
  strengths: tuple      # the full sweep
  quick: tuple = ()     # the --quick sweep (none: left out of the quick program)


REGULARIZERS = {
    "L2 penalty": Regularizer("l2", "lambda of lambda |W|^2", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                              (1e-3,)),
    "weight decay (AdamW)": Regularizer("weight_decay", "decay per unit learning rate",
                                        (0.1, 0.3, 1.0, 3.0, 10.0)),
    "dropout": Regularizer("dropout", "probability a hidden unit is zeroed",
                           (0.1, 0.25, 0.4, 0.55, 0.7), (0.4,)),
    "early stopping": Regularizer("patience", "patience (evaluations of 50 steps)",
                                  (1, 2, 4, 8, 16), (1,)),
    "translation": Regularizer("max_shift", "largest shift (whole pixels)", (1, 2)),
    "rotation": Regularizer("max_degrees", "largest angle (degrees)", (5, 10, 15, 25, 40),
                            (25,)),
    "cutout": Regularizer("cutout_size", "side of the square (pixels)", (1, 2, 3, 4, 5)),
    "mixup": Regularizer("mixup", "alpha of Beta(alpha, alpha)", (0.1, 0.2, 0.4, 1.0, 2.0)),
    "label smoothing": Regularizer("label_smoothing", "epsilon", (0.02, 0.05, 0.1, 0.2, 0.3)),
    "horizontal flip": Regularizer("flip", "probability of mirroring",
                                   (0.1, 0.25, 0.5, 0.75, 1.0), (0.5, 1.0)),
}
NONE = "none"
OFF = {"patience": math.inf}   # the value of each hyperparameter where a row does not use it


class Plan(NamedTuple):
  steps: int
  eval_every: int
  seeds: tuple


def plan(quick: bool) -> Plan:
  """Quick: 300 steps (64 epochs of 150), one seed. Full: 1500 steps (320 epochs), 3 seeds."""
  return Plan(300, 50, (0,)) if quick else Plan(1500, 50, (0, 1, 2))


def build(hparams):
  """Adam with decoupled weight decay on the weight matrices (AdamW, torch's convention:
  W <- W - lr wd W), and the L2 penalty lambda |W|^2 in the loss, when the row has them; the
  other regularizers are the training loop's, read from the same row."""
  decay = optax.masked(add_decayed_weights(hparams.get("weight_decay", 0.0)), weight_mask)
  optimizer = optax.chain(scale_by_adam(), decay, scale_by_learning_rate(LEARNING_RATE))
  return optimizer, lambda params: l2(params, hparams.get("l2", 0.0))


def regularizers(quick: bool) -> dict:
  """The regularizers the study sweeps: all of them, or those with a --quick sweep."""
  return {label: r for label, r in REGULARIZERS.items() if r.quick or not quick}


def configurations(quick: bool) -> pd.DataFrame:
  """One row per (regularizer, strength), plus the unregularized run, every hyperparameter of
  every row set (to its strength, or off)."""
  chosen = regularizers(quick)
  names = [r.hyperparameter for r in chosen.values()]
  rows = [{"regularizer": NONE, "strength": 0.0}]
  for label, regularizer in chosen.items():
    for strength in (regularizer.quick if quick else regularizer.strengths):
      rows.append({"regularizer": label, "strength": float(strength)})
  frame = pd.DataFrame(rows).rename_axis("config").reset_index()
  for name in names:
    frame[name] = OFF.get(name, 0.0)
  for label, regularizer in chosen.items():
    rows = frame.regularizer == label
    frame.loc[rows, regularizer.hyperparameter] = frame.loc[rows, "strength"]
  return frame


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def main(args: argparse.Namespace) -> list[Path]:
  budget = plan(args.quick)
  frame = configurations(args.quick)
  names = [r.hyperparameter for r in regularizers(args.quick).values()]
  task = digits_training(build, hyperparameters=("l2", "weight_decay"), name="regularization",
                         widths=WIDTHS, steps=budget.steps, batch_size=BATCH_SIZE,
                         eval_every=budget.eval_every, train_size=TRAIN_SIZE,
                         test_metrics=True, train_set_metrics=True)
  print(f"{MODEL}: {len(frame)} configurations x {len(budget.seeds)} seeds, "
        f"{budget.steps} steps, one program")
  result = run_sweep(task.run, {name: frame[name].to_numpy() for name in names}, budget.seeds,
                     objective=task.objective, progress=not args.quick)
  runs = {**result.curves, **result.scalars}
  seeds = len(budget.seeds)
  per_config = {k: v.reshape(len(frame), seeds, *v.shape[1:]) for k, v in runs.items()}
  sweep = summarise(frame, per_config)
  chosen = choose(sweep)
  table = chosen_table(chosen, per_config)
  print(table.to_string(index=False))
  recalls = recall_table(flip_settings(sweep, chosen), per_config)
  out = Path(args.out)
  marks = task.eval_steps
  return [save_table(table, out / "regularization.csv"),
          save_table(sweep.drop(columns=names), out / "sweep.csv"),
          save_table(recalls, out / "flips.csv"),
          save_figure(plot_curves(chosen, per_config, marks, budget), out / "curves.png"),
          save_figure(plot_gap(table), out / "gap.png"),
          save_figure(plot_strengths(sweep, chosen), out / "strengths.png"),
          save_figure(plot_flips(sweep, chosen, recalls), out / "flips.png")]


def summarise(frame: pd.DataFrame, runs: dict) -> pd.DataFrame:
  """Validation metrics of the kept parameters, mean and std over seeds, per configuration;
  and the same run's training-set loss (evaluation mode)."""
  sweep = frame.copy()
  for name in ("kept_val_accuracy", "kept_val_loss", "kept_train_loss"):
    short = name.removeprefix("kept_")
    sweep[short] = runs[name].mean(1)
    sweep[f"{short}_std"] = runs[name].std(1)
  sweep["gap"] = sweep.val_loss - sweep.train_loss
  return sweep


def choose(sweep: pd.DataFrame) -> pd.DataFrame:
  """Each regularizer's row of best mean validation accuracy (ties: lower validation loss)."""
  ranked = sweep.sort_values(["val_accuracy", "val_loss"], ascending=[False, True],
                             kind="stable")
  chosen = ranked.groupby("regularizer", sort=False).head(1)
  order = [NONE, *(label for label in REGULARIZERS if label in set(sweep.regularizer))]
  return chosen.set_index("regularizer").loc[order].reset_index()


def chosen_table(chosen: pd.DataFrame, runs: dict) -> pd.DataFrame:
  """The chosen settings, with the test accuracy of each (and of nothing else)."""
  test = runs["test_accuracy"][chosen.config.to_numpy()]          # [chosen, seeds]
  table = chosen[["regularizer", "strength", "val_accuracy", "val_accuracy_std", "train_loss",
                  "val_loss", "gap"]].copy()
  table["test_accuracy"] = test.mean(1)
  table["test_accuracy_std"] = test.std(1)
  return table


def _label(row) -> str:
  if row.regularizer == NONE:
    return "no regularization"
  return f"{row.regularizer}: {REGULARIZERS[row.regularizer].hyperparameter} = {row.strength:g}"


def _panels(count: int, width: float = 3.4, height: float = 3.0):
  columns = 5
  rows = -(-count // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                           squeeze=False)
  for ax in axes.flat[count:]:
    ax.remove()
  return fig, axes.flat[:count]


def plot_curves(chosen: pd.DataFrame, runs: dict, marks: np.ndarray, budget: Plan):
  fig, axes = _panels(len(chosen) - 1, height=3.2)
  mean = lambda name, config: runs[name][config].mean(0)
  baseline = chosen[chosen.regularizer == NONE].iloc[0]
  for ax, row in zip(axes, chosen[chosen.regularizer != NONE].itertuples()):
    for config, color, who in ((baseline.config, "0.55", "none"), (row.config, "tab:blue",
                                                                   "chosen")):
      ax.semilogy(marks, mean("train_set_loss", config), "--", color=color,
                  label=f"training ({who})")
      ax.semilogy(marks, mean("val_loss", config), "-", color=color,
                  label=f"validation ({who})")
    ax.set(title=f"{_label(row)}\nval loss {row.val_loss:.3g} (none {baseline.val_loss:.3g})",
           xlabel="step", ylabel="loss (mean over seeds)", ylim=(1e-4, 5))
  axes[0].legend(fontsize=8)
  seeds = len(budget.seeds)
  fig.suptitle(f"Digits, {MODEL}, {seeds} seed{'s' * (seeds > 1)}:\ntraining loss (dashed: the "
               f"whole training set, no augmentation or dropout) and validation loss (solid) "
               f"at each regularizer's chosen strength, against none (grey)")
  fig.tight_layout()
  return fig


def plot_gap(table: pd.DataFrame):
  fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.5))
  order = table.sort_values("val_loss", ascending=False)
  y = np.arange(len(order))
  labels = [_label(row) for row in order.itertuples()]
  left.barh(y + 0.2, order.train_loss, 0.4, color="tab:orange", label="training loss")
  left.barh(y - 0.2, order.val_loss, 0.4, color="tab:blue", label="validation loss")
  for i, row in enumerate(order.itertuples()):
    left.text(row.val_loss, i - 0.2, f"  gap {row.gap:.3g}", va="center", fontsize=7)
  left.set_xscale("log")
  left.set_xlim(right=order.val_loss.max() * 2.5)  # room for the gap labels
  left.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
  left.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
  left.xaxis.set_minor_formatter(NullFormatter())  # 3e-2 next to 4e-2 collides
  left.set_yticks(y, labels, fontsize=8)
  left.set(xlabel="final loss, mean over seeds (log scale)", ylabel="regularizer: strength",
           title="Regularization trades training loss for validation loss")
  left.legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncols=2)
  right.errorbar(order.val_accuracy, y + 0.15, xerr=order.val_accuracy_std, fmt="o",
                 label="validation (chosen on it)")
  right.errorbar(order.test_accuracy, y - 0.15, xerr=order.test_accuracy_std, fmt="s",
                 label="test (evaluated for the chosen strength only)")
  none = table[table.regularizer == NONE].iloc[0]
  right.axvline(none.val_accuracy, color="0.6", ls=":", label="validation, none")
  right.set_yticks(y, labels, fontsize=8)
  right.set(xlabel="accuracy (mean ± std over seeds)", ylabel="regularizer: strength",
            title="Accuracy at the chosen strength")
  right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12), ncols=2)
  fig.tight_layout()
  return fig


def plot_strengths(sweep: pd.DataFrame, chosen: pd.DataFrame):
  labels = chosen.regularizer[chosen.regularizer != NONE]
  fig, axes = _panels(len(labels))
  none = sweep[sweep.regularizer == NONE].iloc[0]
  for ax, label in zip(axes, labels):
    regularizer = REGULARIZERS[label]
    rows = sweep[sweep.regularizer == label]
    ax.errorbar(rows.strength, rows.val_accuracy, rows.val_accuracy_std, fmt="o-", capsize=3)
    ax.axhline(none.val_accuracy, color="0.6", ls=":", label="none")
    best = chosen[chosen.regularizer == label].iloc[0]
    ax.plot(best.strength, best.val_accuracy, "*", ms=14, color="gold", mec="k", label="chosen")
    if rows.strength.min() > 0 and rows.strength.max() / rows.strength.min() > 10:
      ax.set_xscale("log")
      ax.minorticks_off()
    ax.set_xticks(rows.strength, [f"{v:g}" for v in rows.strength])  # the strengths swept
    ax.margins(x=0.15, y=0.2)  # the chosen star whole inside the axes
    ax.set(title=label, xlabel=regularizer.unit, ylabel="validation accuracy")
  axes[0].legend(fontsize=8)
  fig.suptitle(f"Digits, {MODEL}: validation accuracy against each regularizer's strength "
               "(mean ± std over seeds)")
  fig.tight_layout()
  return fig


def flip_settings(sweep: pd.DataFrame, chosen: pd.DataFrame) -> list:
  """(label, row of `sweep`, color): none, flips at about 1/2 and at the largest probability,
  and the chosen rotation (an augmentation that suits digits), when swept."""
  flips = sweep[sweep.regularizer == "horizontal flip"].sort_values("strength")
  shown = [("none", sweep[sweep.regularizer == NONE].iloc[0], "0.55")]
  shown += [(f"flip p={row.strength:g}", row, color) for row, color in
            ((flips.iloc[(flips.strength - 0.5).abs().argmin()], "tab:orange"),
             (flips.iloc[-1], "tab:red"))]
  if "rotation" in set(chosen.regularizer):
    rotation = chosen[chosen.regularizer == "rotation"].iloc[0]
    shown.append((f"rotation {rotation.strength:g} deg", rotation, "tab:green"))
  return shown


def recall_table(shown: list, runs: dict) -> pd.DataFrame:
  """Validation recall of each digit (mean over seeds) for each setting of `flip_settings`."""
  recall = runs["kept_val_recall"].mean(1)                      # [configs, classes]
  return pd.DataFrame([{"setting": label, **{f"digit_{d}": r for d, r in
                                             enumerate(recall[int(row.config)])}}
                       for label, row, _ in shown])


def plot_flips(sweep: pd.DataFrame, chosen: pd.DataFrame, recalls: pd.DataFrame):
  """Accuracy against the flip probability, and each digit's recall (`recall_table`)."""
  fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.8), width_ratios=(1, 1.6))
  flips = sweep[sweep.regularizer == "horizontal flip"].sort_values("strength")
  none = sweep[sweep.regularizer == NONE].iloc[0]
  left.errorbar(np.r_[0, flips.strength], np.r_[none.val_accuracy, flips.val_accuracy],
                np.r_[none.val_accuracy_std, flips.val_accuracy_std], fmt="o-", capsize=3,
                color="tab:red", label="horizontal flips (0: none)")
  shown = flip_settings(sweep, chosen)
  if "rotation" in set(chosen.regularizer):
    rotation = chosen[chosen.regularizer == "rotation"].iloc[0]
    left.axhline(rotation.val_accuracy, color="tab:green", ls="--",
                 label=f"rotation by up to {rotation.strength:g} degrees (chosen)")
  left.set(xlabel="probability of mirroring a training image", ylabel="validation accuracy",
           title="What horizontal flips cost on digits")
  left.legend(fontsize=8, loc="lower left")
  recall = recalls.drop(columns="setting").to_numpy()
  width = 0.8 / len(shown)
  digits_ = np.arange(recall.shape[1])
  for i, (label, _, color) in enumerate(shown):
    right.bar(digits_ + (i - (len(shown) - 1) / 2) * width, recall[i], width, color=color,
              label=label)
  right.set_xticks(digits_)
  right.set(xlabel="digit", ylabel="validation recall (mean over seeds)", ylim=(0, 1.18),
            title="Per digit: a mirrored digit is another shape, unless it is symmetric")
  right.legend(fontsize=8, ncols=len(shown), loc="upper center")
  fig.tight_layout()
  return fig
