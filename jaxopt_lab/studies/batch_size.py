"""The linear scaling rule (Goyal et al. 2017) on digits: the best learning rate against the
batch size, with and without warmup, and where the rule breaks.

"When the minibatch size is multiplied by k, multiply the learning rate by k": k steps of
batch B with rate eta move the weights about as far as one step of batch kB with rate k eta,
as long as the gradient changes little over those k steps. Goyal et al. trained ImageNet in
one hour that way, with a gradual warmup (the rate ramped up linearly over the first 5
epochs) for the large batches, and saw the rule fail beyond batch 8k.

Here SGD with momentum 0.9 trains the MLP 64-64-10 (ReLU) on digits' 1077 training examples
for the same number of epochs at every batch size B in 16..1024, so a larger batch takes
fewer, larger steps. For each B a sweep over the learning rate (log grid), with a linear
warmup over the first `WARMUP_EPOCHS` epochs and without, runs as one compiled program;
the best rate is the one of lowest mean final validation loss over the seeds. The rule's
prediction is eta*(B) = eta*(B_ref) B / B_ref from the measured best at B_ref = 32. Writes

  batch_size.png   the best rate against B (both ways) on the rule's line; validation loss
                   against the rate for every B; the best validation accuracy against B
  batch_size.csv   one row per (B, warmup): best rate, the rule's, their ratio, scores
  rates.csv        every (B, warmup, rate): mean and std of the final validation loss
"""
import argparse
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim import schedules
from jaxopt_lab.optim.aliases import momentum
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.tasks import digits_training
from jaxopt_lab.train.data import batches_per_epoch, digits

DESCRIPTION = "The linear scaling rule on digits: best learning rate vs batch size (PNG + CSV)."
BETA, WIDTHS, REFERENCE, WARMUP_EPOCHS = 0.9, (64,), 32, 5
NEAR_BEST = 0.1          # rates within 10% of the best final validation loss count as near it
CHANCE = float(np.log(10))   # the loss of a uniform guess over the 10 digits
MODEL = f"MLP 64-{'-'.join(map(str, WIDTHS))}-10 (ReLU), SGD with momentum {BETA:g}"


def settings(quick: bool) -> dict:
  """Batch sizes, learning-rate grid, epochs and seeds."""
  if quick:
    return {"batch_sizes": (32, 256), "rates": np.geomspace(0.01, 1.0, 5), "epochs": 8,
            "seeds": (0,)}
  return {"batch_sizes": (16, 32, 64, 128, 256, 512, 1024),
          "rates": np.geomspace(1e-3, 3.0, 22), "epochs": 40, "seeds": (0, 1, 2)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def build(hparams):
  """SGD with momentum at rate eta, ramped up linearly from 0 over `warmup_steps` (0: none)."""
  rate = schedules.warmup(schedules.constant(hparams["learning_rate"]), hparams["warmup_steps"])
  return momentum(rate, BETA), None


def sweep_batch_size(batch_size: int, plan: dict, quick: bool) -> pd.DataFrame:
  """Every rate, with and without warmup, every seed: one program; one row per run."""
  per_epoch = batches_per_epoch(digits(0).train_size, batch_size)
  steps = plan["epochs"] * per_epoch
  task = digits_training(build, hyperparameters=("learning_rate", "warmup_steps"),
                         widths=WIDTHS, steps=steps, batch_size=batch_size,
                         eval_every=max(1, steps // 8))
  rates = np.asarray(plan["rates"])
  warmups = np.array([0.0, WARMUP_EPOCHS * per_epoch])
  columns = {"learning_rate": np.tile(rates, 2), "warmup_steps": np.repeat(warmups, len(rates))}
  result = run_sweep(task.run, columns, plan["seeds"], objective=task.objective,
                     progress=not quick)
  table = result.table
  table["batch_size"] = batch_size
  table["warmup"] = table.warmup_steps > 0
  table["steps"] = steps
  return table


def rate_table(runs: pd.DataFrame) -> pd.DataFrame:
  """Per (B, warmup, rate): mean and std over seeds of the final validation loss (NaN if a
  seed diverged), mean final validation accuracy, fraction of seeds diverged."""
  runs = runs.assign(loss=runs.final_val_loss.where(~runs.diverged & np.isfinite(
      runs.final_val_loss)))
  grouped = runs.groupby(["batch_size", "warmup", "learning_rate"])
  rates = grouped.loss.agg(["mean", "std"]).rename(columns={"mean": "val_loss",
                                                             "std": "val_loss_std"})
  rates["val_accuracy"] = grouped.final_val_accuracy.mean()
  rates["diverged"] = grouped.diverged.mean()
  return rates.reset_index()


def best_rates(rates: pd.DataFrame) -> pd.DataFrame:
  """Per (B, warmup): the best rate (lowest mean final validation loss), the range of rates
  within `NEAR_BEST` of its loss, the largest rate that still ends below chance loss, and
  the rule's prediction from the best rate at B_ref."""
  rows = []
  for (batch_size, warmup), group in rates.groupby(["batch_size", "warmup"]):
    usable = group[(group.diverged == 0) & group.val_loss.notna()]
    best = usable.loc[usable.val_loss.idxmin()]
    near = usable[usable.val_loss <= (1 + NEAR_BEST) * best.val_loss].learning_rate
    trains = usable[usable.val_loss < CHANCE].learning_rate
    rows.append({"batch_size": batch_size, "warmup": warmup,
                 "learning_rate": best.learning_rate, "near_best_low": near.min(),
                 "near_best_high": near.max(), "largest_trained_rate": trains.max(),
                 "val_loss": best.val_loss, "val_accuracy": best.val_accuracy})
  best = pd.DataFrame(rows)
  reference = best[best.batch_size == REFERENCE].set_index("warmup").learning_rate
  best["rule"] = reference.reindex(best.warmup).to_numpy() * best.batch_size / REFERENCE
  best["best_over_rule"] = best.learning_rate / best.rule
  best["rule_near_best"] = best.rule.between(best.near_best_low, best.near_best_high)
  return best


def scaling_exponent(best: pd.DataFrame, warmup: bool) -> float:
  """k of the least-squares fit best rate ~ B^k (1 for the linear rule, 1/2 for the square
  root rule)."""
  rows = best[best.warmup == warmup]
  return float(np.polyfit(np.log(rows.batch_size), np.log(rows.learning_rate), 1)[0])


def breaks_at(best: pd.DataFrame, warmup: bool):
  """The smallest batch size above B_ref whose best rate the rule misses (its prediction
  outside the rates within NEAR_BEST of the best loss), or None."""
  rows = best[(best.warmup == warmup) & (best.batch_size > REFERENCE) & ~best.rule_near_best]
  return int(rows.batch_size.min()) if len(rows) else None


def main(args: argparse.Namespace) -> list[Path]:
  plan = settings(args.quick)
  runs, began = [], time.perf_counter()
  for batch_size in plan["batch_sizes"]:
    print(f"batch {batch_size}: {2 * len(plan['rates'])} configurations x "
          f"{len(plan['seeds'])} seeds, {plan['epochs']} epochs", flush=True)
    runs.append(sweep_batch_size(batch_size, plan, args.quick))
  runs = pd.concat(runs, ignore_index=True)
  rates = rate_table(runs)
  best = best_rates(rates)
  print(best[["batch_size", "warmup", "learning_rate", "near_best_low", "near_best_high", "rule",
              "best_over_rule", "val_loss", "val_accuracy"]].to_string(index=False))
  for warmup in (True, False):
    print(f"{'with' if warmup else 'without'} warmup: best rate ~ B^"
          f"{scaling_exponent(best, warmup):.2f}; the linear rule from B = {REFERENCE} "
          f"misses the best rates from B = {breaks_at(best, warmup)}")
  print(f"{len(runs)} runs in {time.perf_counter() - began:.0f} s")
  out = Path(args.out)
  return [save_table(best, out / "batch_size.csv"), save_table(rates, out / "rates.csv"),
          save_figure(plot(rates, best, plan), out / "batch_size.png")]


def _batch_ticks(ax, plan: dict) -> None:
  ax.set_xticks(plan["batch_sizes"], [str(b) for b in plan["batch_sizes"]])
  ax.minorticks_off()


def plot(rates: pd.DataFrame, best: pd.DataFrame, plan: dict):
  fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
  ax = axes[0]
  for warmup, marker, color, shift in ((True, "o-", "tab:blue", 1.03),
                                       (False, "s--", "tab:orange", 0.97)):
    rows = best[best.warmup == warmup]
    label = (f"{'warmup ' + str(WARMUP_EPOCHS) + ' epochs' if warmup else 'no warmup'}: best "
             f"rate ~ B^{scaling_exponent(best, warmup):.2f}")
    spread = [rows.learning_rate - rows.near_best_low, rows.near_best_high - rows.learning_rate]
    ax.errorbar(rows.batch_size * shift, rows.learning_rate, spread, fmt=marker, color=color,
                capsize=3, label=label)
    ax.plot(rows.batch_size * shift, rows.largest_trained_rate, ":", color=color, alpha=0.7,
            label=f"largest rate ending below chance loss ({'with' if warmup else 'no'} "
                  "warmup)")
  rule = best[best.warmup]
  ax.plot(rule.batch_size, rule.rule, "k-", lw=1, alpha=0.7,
          label=f"linear scaling rule from B = {REFERENCE} (with warmup)")
  ax.set(xscale="log", yscale="log", xlabel="batch size B", ylabel="learning rate",
         title=f"Best rate (bars: within {NEAR_BEST:.0%} of its loss) vs batch size")
  _batch_ticks(ax, plan)
  ax.set_ylim(bottom=0.1 * best.near_best_low.min())   # room for the legend below the bars
  ax.legend(fontsize=8, loc="lower right")

  ax = axes[1]
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(plan["batch_sizes"])))
  for color, batch_size in zip(colors, plan["batch_sizes"]):
    rows = rates[(rates.batch_size == batch_size) & rates.warmup]
    ax.loglog(rows.learning_rate, rows.val_loss, "-", color=color, label=f"B = {batch_size}")
    chosen = best[(best.batch_size == batch_size) & best.warmup].iloc[0]
    ax.plot(chosen.learning_rate, chosen.val_loss, "*", color=color, mec="k", ms=11)
  ax.set(xlabel="learning rate", ylabel="final validation loss (mean over seeds)",
         title="With warmup: the optimum (star) moves right as B grows", ylim=(0.08, 3))
  ax.legend(fontsize=8, ncols=2)

  ax = axes[2]
  for warmup, marker, color in ((True, "o-", "tab:blue"), (False, "s--", "tab:orange")):
    rows = best[best.warmup == warmup]
    ax.semilogx(rows.batch_size, rows.val_loss, marker, color=color,
                label=f"{'warmup' if warmup else 'no warmup'} (accuracy "
                      f"{rows.val_accuracy.min():.1%} to {rows.val_accuracy.max():.1%})")
  _batch_ticks(ax, plan)
  ax.set(xlabel="batch size B", ylabel="final validation loss at the best rate",
         title=f"Larger batches, fewer steps: what {plan['epochs']} epochs reach")
  ax.legend(fontsize=8)
  seeds = len(plan["seeds"])
  fig.suptitle(f"Digits, {MODEL}, {plan['epochs']} epochs at every batch size, {seeds} "
               f"seed{'s' * (seeds > 1)}: the linear scaling rule (Goyal et al. 2017) and where "
               "it breaks")
  fig.tight_layout()
  return fig
