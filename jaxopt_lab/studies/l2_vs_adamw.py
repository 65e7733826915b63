"""L2 regularization against decoupled weight decay on the digits MLP, for SGD and for Adam.

An L2 penalty lambda |W|^2 adds 2 lambda W to the gradient; decoupled weight decay (Loshchilov
& Hutter 2019) shrinks the weights by lr * wd * W outside the optimizer's preconditioning. They
are matched at wd = 2 lambda, and both act on the weight matrices only (`losses.weight_mask`).
- SGD: w <- w - lr (g + 2 lambda W) either way, so the two runs give the same curves (up to
  float rounding); the table reports the largest difference.
- Adam: the L2 gradient is divided by sqrt(v_hat) with the data gradient, so weights with large
  gradients are barely regularized and rarely used ones are shrunk hard; AdamW decays every
  weight at the same relative rate. Swept over lambda, the two differ in accuracy and norm.
Both optimizers, every strength, both methods and all seeds run as ONE vmapped program.
Writes l2_vs_adamw.png, sgd_equivalence.csv and adam_l2_vs_adamw.csv.
"""
import argparse
from pathlib import Path

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pandas as pd

from jaxopt_lab.train.losses import l2, weight_mask
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim.combine import one_of
from jaxopt_lab.studies._digits import MODEL, budget, smooth, sweep
from jaxopt_lab.optim.blocks import add_decayed_weights, scale_by_adam, scale_by_learning_rate

DESCRIPTION = "Adam + L2 vs AdamW at matched strengths; SGD + L2 equals SGD with decay (PNG + CSV)."
SGD_RATE, ADAM_RATE = 0.1, 1e-3


def strengths(quick: bool):
  """(SGD strengths, Adam strengths) lambda of the L2 penalty; the decay is 2 lambda."""
  if quick:
    return np.array([1e-3]), np.array([1e-4, 1e-2, 1.0])
  return np.array([1e-4, 1e-3, 1e-2]), np.logspace(-5, 0, 11)


def build(hparams):
  """One run for `_digits.sweep`: the preconditioner (h["adam"] = 0: none, i.e. SGD; 1: Adam's
  m_hat / (sqrt(v_hat) + eps)), then decoupled decay h["decay"] on the weights, then the step
  -h["learning_rate"]; plus the penalty h["l2"] |W|^2 in the loss. Both optimizers and every
  strength are rows of one program."""
  preconditioner = one_of([optax.identity(), scale_by_adam()], hparams["adam"].astype(jnp.int32))
  decay = optax.masked(add_decayed_weights(hparams["decay"]), weight_mask)
  optimizer = optax.chain(preconditioner, decay, scale_by_learning_rate(hparams["learning_rate"]))
  return optimizer, lambda params: l2(params, hparams["l2"])


def paired_columns(adam: int, rate: float, lambdas: np.ndarray) -> dict:
  """Rows 0..n-1: L2 penalty lambda, no decay; rows n..2n-1: no penalty, decay 2 lambda."""
  zeros = np.zeros_like(lambdas)
  return {"adam": np.full(2 * len(lambdas), adam), "learning_rate": np.full(2 * len(lambdas), rate),
          "l2": np.concatenate([lambdas, zeros]), "decay": np.concatenate([zeros, 2 * lambdas])}


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def main(args: argparse.Namespace) -> list[Path]:
  plan = budget(args.quick)
  sgd_lambdas, adam_lambdas = strengths(args.quick)
  print(f"{MODEL}: SGD (lr {SGD_RATE:g}) at {len(sgd_lambdas)} strengths, Adam (lr "
        f"{ADAM_RATE:g}) at {len(adam_lambdas)}, L2 and decoupled, {len(plan.seeds)} seeds, "
        "in one program")
  sgd_columns = paired_columns(0, SGD_RATE, sgd_lambdas)
  adam_columns = paired_columns(1, ADAM_RATE, adam_lambdas)
  result = sweep(build, {k: np.concatenate([sgd_columns[k], adam_columns[k]]) for k in sgd_columns},
                 plan, args.quick)
  split = 2 * len(sgd_lambdas) * len(plan.seeds)  # rows are configurations x seeds
  metrics = {**result.curves, **result.scalars}
  sgd_runs = {k: v[:split] for k, v in metrics.items()}
  adam_runs = {k: v[split:] for k, v in metrics.items()}
  equivalence = sgd_table(sgd_runs, sgd_lambdas)
  adam = adam_table(adam_runs, adam_lambdas)
  print(equivalence.to_string(index=False))
  out = Path(args.out)
  return [save_table(equivalence, out / "sgd_equivalence.csv"),
          save_table(adam, out / "adam_l2_vs_adamw.csv"),
          save_figure(plot(sgd_runs, sgd_lambdas, adam_runs, adam, plan), out / "l2_vs_adamw.png")]


def _halves(runs: dict, name: str, lambdas: np.ndarray):
  """The runs' `name` values as (L2 rows, decoupled rows), each [strengths, seeds, ...]."""
  values = runs[name]
  values = values.reshape(2, len(lambdas), -1, *values.shape[1:])
  return values[0], values[1]


def sgd_table(runs, lambdas) -> pd.DataFrame:
  (l2_loss, decay_loss), (l2_acc, decay_acc) = (
      _halves(runs, name, lambdas) for name in ("train_loss", "val_accuracy"))
  loss_gap = np.abs(l2_loss - decay_loss).max(axis=(1, 2))
  return pd.DataFrame({
      "l2_strength": lambdas, "weight_decay": 2 * lambdas, "learning_rate": SGD_RATE,
      "max_abs_train_loss_difference": loss_gap,
      "max_rel_train_loss_difference": (np.abs(l2_loss - decay_loss) / l2_loss).max(axis=(1, 2)),
      "max_abs_val_accuracy_difference": np.abs(l2_acc - decay_acc).max(axis=(1, 2)),
      "final_train_loss": l2_loss[:, :, -1].mean(1)})


def adam_table(runs, lambdas) -> pd.DataFrame:
  rows = []
  for method, index in (("Adam + L2", 0), ("AdamW", 1)):
    metrics = {name: _halves(runs, name, lambdas)[index] for name in
               ("val_accuracy", "test_accuracy", "weight_norm", "train_loss")}
    for i, strength in enumerate(lambdas):
      rows.append({
          "method": method, "l2_strength": strength if index == 0 else 0.0,
          "weight_decay": 2 * strength if index == 1 else 0.0, "matched_lambda": strength,
          "learning_rate": ADAM_RATE,
          "val_accuracy": metrics["val_accuracy"][i, :, -1].mean(),
          "val_accuracy_std": metrics["val_accuracy"][i, :, -1].std(),
          "test_accuracy": metrics["test_accuracy"][i].mean(),
          "weight_norm": metrics["weight_norm"][i].mean(),
          "final_train_loss": smooth(metrics["train_loss"][i])[:, -1].mean()})
  return pd.DataFrame(rows)


def plot(sgd_runs, sgd_lambdas, adam_runs, adam, plan):
  fig, axes = plt.subplots(2, 2, figsize=(13, 9))
  steps = np.arange(1, plan.steps + 1)
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(sgd_lambdas)))
  l2_loss, decay_loss = _halves(sgd_runs, "train_loss", sgd_lambdas)
  ax = axes[0, 0]
  for i, strength in enumerate(sgd_lambdas):
    ax.semilogy(steps, smooth(l2_loss[i].mean(0)), color=colors[i], lw=2.5, alpha=0.5,
                label=f"SGD + L2, lambda = {strength:g}")
    ax.semilogy(steps, smooth(decay_loss[i].mean(0)), color=colors[i], ls="--", lw=1.2,
                label=f"SGD, decoupled decay {2 * strength:g}")
  gap = np.abs(l2_loss - decay_loss).max()
  ax.set(xlabel="step", ylabel="training loss (mean over one epoch)",
         title=f"SGD (lr {SGD_RATE:g}): L2 and decoupled decay 2 lambda give the same curves "
               f"(max |difference| {gap:.2g})")
  ax.legend()

  matched = adam.matched_lambda.unique()
  for method, marker in (("Adam + L2", "o-"), ("AdamW", "s--")):
    rows = adam[adam.method == method]
    label = method + (" (penalty lambda |W|^2)" if method == "Adam + L2" else " (decay 2 lambda)")
    axes[0, 1].errorbar(rows.matched_lambda, rows.val_accuracy, rows.val_accuracy_std,
                        fmt=marker, capsize=3, label=label)
    axes[1, 0].loglog(rows.matched_lambda, rows.weight_norm, marker, label=label)
  axes[0, 1].set(xscale="log", xlabel="lambda (AdamW: weight decay 2 lambda)",
                 ylabel="final validation accuracy", ylim=(0, 1.02),
                 title=f"Adam (lr {ADAM_RATE:g}): validation accuracy against the strength")
  axes[1, 0].set(xlabel="lambda (AdamW: weight decay 2 lambda)",
                 ylabel="final |W| (all weight matrices)",
                 title="Adam: weight norm at the end of training")
  for ax in (axes[0, 1], axes[1, 0]):
    ax.legend()

  ax = axes[1, 1]
  l2_loss, decay_loss = _halves(adam_runs, "train_loss", matched)
  show = sorted({int(np.argmin(np.abs(np.log(matched / target)))) for target in (1e-3, 1e-2, 1e-1)})
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(show)))
  for color, i in zip(colors, show):
    ax.semilogy(steps, smooth(l2_loss[i].mean(0)), color=color,
                label=f"Adam + L2, lambda = {matched[i]:.2g}")
    ax.semilogy(steps, smooth(decay_loss[i].mean(0)), color=color, ls="--",
                label=f"AdamW, decay {2 * matched[i]:.2g}")
  ax.set(xlabel="step", ylabel="training loss (mean over one epoch)",
         title="Adam: the same nominal strength regularizes differently")
  ax.set_ylim(bottom=0.25 * min(smooth(l2_loss[show].mean(1))[:, -1].min(),
                                 smooth(decay_loss[show].mean(1))[:, -1].min()))  # legend room
  ax.legend(ncols=3, fontsize=7, loc="lower left")
  seeds = len(plan.seeds)
  fig.suptitle(f"Digits, {MODEL}: L2 penalty vs decoupled weight decay on the weight matrices "
               f"({plan.steps} steps, {seeds} seed{'s' * (seeds > 1)})")
  fig.tight_layout()
  return fig
