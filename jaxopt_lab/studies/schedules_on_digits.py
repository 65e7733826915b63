"""Learning-rate schedules compared on the same digits MLP, each at its tuned peak rate.

SGD with momentum 0.9 trains the MLP of `digits-optimizers` under each schedule of
`jaxopt_lab.optim.schedules` (and reduce-on-plateau on the epoch's mean training loss). Schedules
are traceable in every parameter, so every schedule x peak rate x seed runs in ONE vmapped
program, compiled once; for each schedule the peak with the best mean final validation
accuracy is kept. Writes
schedules_on_digits.png (rate, training loss and validation accuracy per step),
schedules_on_digits.csv (one row per schedule) and peak_rates.csv (every run).
"""
import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pandas as pd

from jaxopt_lab.studies import names_in
from jaxopt_lab.optim import schedules as sch
from jaxopt_lab.train.data import batches_per_epoch, digits
from jaxopt_lab.optim.aliases import momentum
from jaxopt_lab.optim.plateau import reduce_on_plateau
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.studies._digits import BATCH_SIZE, MODEL, budget, smooth, sweep
from jaxopt_lab.studies.digits_optimizers import LINE_STYLES, best_config

DESCRIPTION = "Learning-rate schedules on the same digits MLP, each at its tuned peak (PNG + CSV)."
BETA = 0.9

# name -> (legend text, schedule(peak, total_steps)); plateau starts constant, the run lowers it
SCHEDULES = {
    "constant": ("constant", lambda peak, n: sch.constant(peak)),
    "step": ("step: x0.1 at 50% and 75%", lambda peak, n: sch.step_decay(peak, n)),
    "exponential": ("exponential: x0.01 over the run",
                    lambda peak, n: sch.exponential_decay(peak, n, 0.01)),
    "cosine": ("cosine to 0", lambda peak, n: sch.cosine_decay(peak, n)),
    "linear": ("linear to 0", lambda peak, n: sch.linear_decay(peak, n)),
    "inverse_sqrt": ("1/sqrt(1 + t/(n/20))", lambda peak, n: sch.inverse_sqrt(peak, n / 20)),
    "warmup_cosine": ("10% linear warmup, then cosine",
                      lambda peak, n: sch.warmup(sch.cosine_decay(peak, n - n // 10), n // 10)),
    "sgdr": ("SGDR: periods n/7, 2n/7, 4n/7", lambda peak, n: sch.sgdr(peak, n / 7, 2.0)),
    "plateau": ("reduce on plateau: x0.5 after 3 epochs without a 5% lower training loss",
                lambda peak, n: sch.constant(peak)),
}
PLATEAU = list(SCHEDULES).index("plateau")


def peak_rates(quick: bool) -> np.ndarray:
  return np.array([0.03, 0.1]) if quick else np.logspace(-2.5, 0, 6)


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--schedules", default=",".join(SCHEDULES),
                      help="comma-separated schedules (default: all)")


def plateau(factor=0.5):
  """Reduce-on-plateau on the mean training loss of each epoch: x factor after 3 epochs in a
  row none of which is 5% below the best so far (torch's threshold 1e-4 never fires here:
  the training loss of this MLP keeps creeping down)."""
  per_epoch = batches_per_epoch(digits(seed=0).train_size, BATCH_SIZE)
  return reduce_on_plateau(factor=factor, patience=2, rtol=0.05, accumulation_size=per_epoch)


def plateau_rates(peak: float, losses: np.ndarray) -> np.ndarray:
  """The rate plateau() gave a run, replayed from its per-step training losses: the transform
  is deterministic in the losses it is fed, so peak x its scale is the rate of every step."""
  transform = plateau()

  def step(state, loss):
    _, state = transform.update(jnp.zeros(()), state, value=loss)
    return state, state.scale

  _, scales = jax.lax.scan(step, transform.init(None), jnp.asarray(losses, jnp.float32))
  return peak * np.asarray(scales)


def build_for(steps: int):
  """build(hparams) for `_digits.sweep`: momentum SGD with peak rate h["learning_rate"] under
  schedule number h["schedule"]. Every schedule is in the one traced program (lax.switch on
  the traced index: scalar work, nothing per parameter), and every run carries the plateau
  transform, with factor 1 (a no-op) except under "plateau"; so one compilation serves all."""
  factories = [factory for _, factory in SCHEDULES.values()]

  def build(hparams):
    peak, which = hparams["learning_rate"], hparams["schedule"].astype(jnp.int32)
    branches = [lambda t, make=make: make(peak, steps)(t) for make in factories]
    rate = lambda t: jax.lax.switch(which, branches, t)
    factor = jnp.where(which == PLATEAU, 0.5, 1.0)
    return optax.chain(momentum(rate, BETA), plateau(factor)), None

  return build


def main(args: argparse.Namespace) -> list[Path]:
  names = names_in("--schedules", args.schedules, SCHEDULES)
  plan, peaks = budget(args.quick), peak_rates(args.quick)
  print(f"{MODEL}, momentum {BETA}: {len(names)} schedules x {len(peaks)} peak rates x "
        f"{len(plan.seeds)} seeds x {plan.steps} steps, in one program")
  index = np.array([list(SCHEDULES).index(name) for name in names])
  began = time.perf_counter()
  result = sweep(build_for(plan.steps), {"schedule": np.repeat(index, len(peaks)),
                                         "learning_rate": np.tile(peaks, len(names))},
                 plan, args.quick)
  seconds = time.perf_counter() - began
  table = result.table.assign(schedule=[names[i // len(peaks)] for i in result.table.config])
  rows, curves = [], {}
  for name in names:
    own = table[table.schedule == name]
    chosen = np.flatnonzero((table.schedule == name) & (table.config == best_config(own)))
    picked = table.iloc[chosen]
    peak = float(picked.learning_rate.iloc[0])
    curves[name] = {k: result.curves[k][chosen].mean(0)
                    for k in ("train_loss", "val_loss", "val_accuracy")}
    curves[name]["rate"] = (plateau_rates(peak, result.curves["train_loss"][chosen[0]])
                            if name == "plateau" else np.asarray(
                                SCHEDULES[name][1](peak, plan.steps)(jnp.arange(plan.steps))))
    rows.append({"schedule": name, "description": SCHEDULES[name][0], "peak_rate": peak,
                 "peak_at_grid_edge": bool(np.isclose(peak, peaks.min()) or
                                           np.isclose(peak, peaks.max())),
                 "final_rate": float(curves[name]["rate"][-1]),
                 "val_accuracy": picked.final_val_accuracy.mean(),
                 "test_accuracy": picked.test_accuracy.mean(),
                 "test_accuracy_std": picked.test_accuracy.std(ddof=0),
                 "final_train_loss": smooth(result.curves["train_loss"][chosen])[:, -1].mean(),
                 "steps": plan.steps})
    print(f"  {name:13s} peak {peak:.3g}: test accuracy {rows[-1]['test_accuracy']:.4f}")
  print(f"{len(table)} runs in {seconds:.1f} s")
  summary = pd.DataFrame(rows)
  grid = table[["schedule", "learning_rate", "seed", "final_val_accuracy", "final_val_loss",
                "test_accuracy", "diverged"]]
  out = Path(args.out)
  return [save_table(summary, out / "schedules_on_digits.csv"),
          save_table(grid, out / "peak_rates.csv"),
          save_figure(plot(summary, curves, plan), out / "schedules_on_digits.png")]


def plot(summary, curves, plan):
  colors = plt.get_cmap("tab10")
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
  steps = np.arange(plan.steps)
  for i, row in enumerate(summary.itertuples()):
    style = dict(color=colors(i), ls=LINE_STYLES[i % len(LINE_STYLES)], lw=1.3)
    label = f"{row.schedule} (peak {row.peak_rate:.2g}): test {row.test_accuracy:.1%}"
    c = curves[row.schedule]
    axes[0].plot(steps, c["rate"] / row.peak_rate * np.ones(plan.steps), **style)
    axes[1].semilogy(steps + 1, smooth(c["train_loss"]), label=label, **style)
    axes[2].plot(plan.eval_steps, c["val_accuracy"], **style)
  axes[0].set(xlabel="step", ylabel="learning rate / peak rate (peaks in the legend)",
              title="Schedule shapes (plateau: as it ran for seed 0)")
  axes[1].set(xlabel="step", ylabel="training loss (mean over one epoch)", title="Training loss")
  lowest = min(np.nanmin(c["val_accuracy"][1:]) for c in curves.values())
  axes[2].set(xlabel="step", ylabel="validation accuracy", title="Validation accuracy",
              ylim=(max(0.0, lowest - 0.02), 1.0))
  seeds = len(plan.seeds)
  fig.suptitle(f"Digits, {MODEL}, SGD with momentum {BETA}: learning-rate schedules, each at the "
               f"peak with the best validation accuracy (mean of {seeds} seed{'s' * (seeds > 1)})")
  fig.tight_layout(rect=(0, 0.12, 1, 1))
  fig.legend(*axes[1].get_legend_handles_labels(), loc="lower center", ncols=3, fontsize=9)
  return fig
