"""Every learning-rate schedule drawn against the step, a few parameter values per family.

Each family's settings run as ONE vmapped program over its parameters (warmup lengths, SGDR
periods and multipliers, decay rates and boundaries included), which is what makes the
schedules usable in sweeps. Reduce-on-plateau is driven by a synthetic noisy loss that levels
off. Writes schedules.png (one panel per family) and schedules.csv (family, setting, step,
learning_rate).
"""
import argparse
from pathlib import Path
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from jaxopt_lab.optim import schedules as sch
from jaxopt_lab.optim.plateau import reduce_on_plateau
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.studies import FLOAT32_MAX, check_option

DESCRIPTION = "Every learning-rate schedule against the step, incl. warmup and SGDR (PNG + CSV)."
PLATEAU_FACTOR, PLATEAU_MIN_SCALE = 0.5, 0.01


class Family(NamedTuple):
  title: str
  make: Callable  # (peak, total_steps, *parameters) -> schedule
  settings: list  # one tuple of parameters per curve
  label: Callable  # parameters -> legend entry
  log_scale: bool = False


def families(total: int) -> list[Family]:
  """The schedules drawn, with parameters scaled to a run of `total` steps."""
  return [
      Family("step decay (x gamma at fractions of the run)",
             lambda peak, n, f1, f2, gamma: sch.step_decay(peak, n, [f1, f2], gamma),
             [(0.5, 0.75, 0.1), (0.3, 0.6, 0.1), (0.5, 0.75, 0.5)],
             lambda f1, f2, g: f"at {f1:g}, {f2:g} of the run, gamma {g:g}", log_scale=True),
      Family("exponential decay",
             lambda peak, n, rate, stairs: sch.exponential_decay(peak, n / 10, rate, stairs),
             [(0.7, False), (0.5, False), (0.5, True)],
             lambda rate, stairs: f"x{rate:g} per {total // 10} steps"
             + (", staircase" if stairs else ""), log_scale=True),
      Family("cosine decay to eta_min",
             lambda peak, n, length, eta_min: sch.cosine_decay(peak, length * n, eta_min),
             [(1.0, 0.0), (1.0, 0.02), (0.5, 0.0)],
             lambda length, eta_min: f"over {length:g} of the run, eta_min {eta_min:g}"),
      Family("linear decay",
             lambda peak, n, length, end: sch.linear_decay(peak, length * n, end),
             [(1.0, 0.0), (0.5, 0.0), (1.0, 0.05)],
             lambda length, end: f"over {length:g} of the run, to {end:g}"),
      Family("inverse square root: peak / sqrt(1 + t / tau)",
             lambda peak, n, tau: sch.inverse_sqrt(peak, tau * n),
             [(0.01,), (0.05,), (0.2,)],
             lambda tau: f"tau = {tau:g} of the run"),
      Family("linear warmup into cosine decay",
             lambda peak, n, w: sch.warmup(sch.cosine_decay(peak, n - w * n), w * n),
             [(0.0,), (0.05,), (0.2,)],
             lambda w: f"warmup {w:g} of the run"),
      Family("linear warmup into inverse sqrt (Transformer)",
             lambda peak, n, w: sch.warmup(sch.inverse_sqrt(peak, w * n), w * n),
             [(0.02,), (0.1,), (0.3,)],
             lambda w: f"warmup {w:g} of the run"),
      Family("SGDR warm restarts",
             lambda peak, n, t0, mult, eta_min: sch.sgdr(peak, t0 * n, mult, eta_min),
             [(0.25, 1.0, 0.0), (1 / 15, 2.0, 0.0), (0.1, 1.5, 0.02)],
             lambda t0, mult, eta_min: f"T_0 {t0:.3g} of the run, T_mult {mult:g}, "
             f"eta_min {eta_min:g}"),
  ]


def curves(family: Family, peak: float, total: int) -> np.ndarray:
  """Learning rates [settings, total] of one family, all settings in one vmapped program."""
  columns = [jnp.asarray(column) for column in zip(*family.settings)]
  steps = jnp.arange(total)
  run = lambda parameters: family.make(peak, total, *parameters)(steps)
  return np.asarray(jax.jit(jax.vmap(run))(columns))


def synthetic_loss(total: int, seed: int = 0) -> np.ndarray:
  """A training loss that falls, then levels off at 0.2 with noise: plateaus to react to."""
  t = np.arange(total)
  noise = np.random.default_rng(seed).normal(size=total)
  return 0.2 + 0.8 * np.exp(-t / (0.08 * total)) + 0.01 * noise


def plateau_curves(peak: float, losses: np.ndarray, patiences: list[int]) -> np.ndarray:
  """peak * scale [patiences, steps] of reduce_on_plateau(factor, min_scale) fed `losses`."""

  def run(patience):
    transform = reduce_on_plateau(PLATEAU_FACTOR, patience, min_scale=PLATEAU_MIN_SCALE)

    def step(state, loss):
      _, state = transform.update(jnp.zeros([]), state, value=loss)
      return state, peak * state.scale

    return jax.lax.scan(step, transform.init(jnp.zeros([])), jnp.asarray(losses))[1]

  return np.asarray(jax.jit(jax.vmap(run))(jnp.asarray(patiences)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--steps", type=int, default=1000,
                      help="length of the run drawn (default: %(default)s; 200 with --quick)")
  parser.add_argument("--peak", type=float, default=0.1,
                      help="peak learning rate of every schedule (default: %(default)s)")


def main(args: argparse.Namespace) -> list[Path]:
  check_option("--steps", args.steps, 50, 10 ** 7)
  check_option("--peak", args.peak, float(np.finfo(np.float32).tiny), FLOAT32_MAX)
  total = min(args.steps, 200) if args.quick else args.steps
  rows, panels = [], []
  for family in families(total):
    rates = curves(family, args.peak, total)
    labels = [family.label(*setting) for setting in family.settings]
    panels.append((family, labels, rates))
    rows += _rows(family.title, labels, rates)
  losses = synthetic_loss(total)
  patiences = [total // 100, total // 40, total // 10]
  plateau = plateau_curves(args.peak, losses, patiences)
  plateau_labels = [f"patience {p}" for p in patiences]
  rows += _rows("reduce on plateau", plateau_labels, plateau)
  out = Path(args.out)
  figure = plot(panels, (plateau_labels, plateau, losses), args.peak, total)
  return [save_table(pd.DataFrame(rows), out / "schedules.csv"),
          save_figure(figure, out / "schedules.png")]


def _rows(family: str, labels: list[str], rates: np.ndarray) -> list[dict]:
  return [{"family": family, "setting": label, "step": step, "learning_rate": rate}
          for label, curve in zip(labels, rates) for step, rate in enumerate(curve)]


def plot(panels, plateau, peak: float, total: int):
  """A 3 x 3 grid: one panel per family, the last one reduce-on-plateau over its loss.

  Each panel leaves headroom above the peak rate for its legend, so no curve hides behind it.
  """
  fig, axes = plt.subplots(3, 3, figsize=(15, 11), sharex=True)
  colors = plt.get_cmap("tab10")
  for ax, (family, labels, rates) in zip(axes.flat, panels):
    for i, (label, curve) in enumerate(zip(labels, rates)):
      ax.plot(curve, color=colors(i), lw=1.4, label=label)
    _leave_headroom(ax, peak, rates.min(), family.log_scale)
    ax.set_title(family.title)
    ax.legend(loc="upper right")
  labels, rates, losses = plateau
  ax = axes.flat[-1]
  for i, (label, curve) in enumerate(zip(labels, rates)):
    ax.plot(curve, color=colors(i), lw=1.4, label=label)
  _leave_headroom(ax, peak, rates.min(), log_scale=True)
  loss_axis = ax.twinx()
  loss_axis.plot(losses, color="0.6", lw=0.7, label="training loss (right axis)")
  loss_axis.set(ylim=(0, 1.6), ylabel="synthetic training loss")
  ax.set_zorder(loss_axis.get_zorder() + 1)  # rates drawn over the loss
  ax.patch.set_visible(False)
  ax.set_title(f"reduce on plateau (factor {PLATEAU_FACTOR:g}, min_scale "
               f"{PLATEAU_MIN_SCALE:g}, rel. threshold 1e-4)")
  handles = ax.get_legend_handles_labels()[0] + loss_axis.get_legend_handles_labels()[0]
  ax.legend(handles, [h.get_label() for h in handles], loc="upper right")
  for ax in axes.flat:
    ax.set_ylabel("learning rate" + (" (log scale)" if ax.get_yscale() == "log" else ""))
  for ax in axes[-1]:
    ax.set_xlabel("step (updates so far)")
  fig.suptitle(f"Learning-rate schedules over a {total}-step run, peak rate {peak:g} "
               "(each panel's settings computed in one vmapped program)")
  fig.tight_layout()
  return fig


def _leave_headroom(ax, peak: float, low: float, log_scale: bool) -> None:
  """y-limits from the lowest rate to above the peak, the top third left to the legend."""
  if log_scale:
    low = low / 2
    ax.set(yscale="log", ylim=(low, peak * (peak / low) ** 0.5))
  else:
    ax.set_ylim(-0.03 * peak, 1.5 * peak)
