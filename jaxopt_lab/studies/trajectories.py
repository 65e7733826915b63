"""The lectures' picture: every optimizer's path on 2-D surfaces, each at its best step size.

For each surface (an ill-conditioned quadratic, Rosenbrock's valley, a saddle) and optimizer,
the learning rate is chosen from a log grid by running ALL grid values at once (one vmapped,
compiled program per optimizer): the winner reaches f - f* < tolerance in the fewest steps.
Writes trajectories.png (paths over contours), suboptimality.png (f - f* per step) and
steps_to_tolerance.csv.
"""
import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pandas as pd

from jaxopt_lab.theory import problems
from jaxopt_lab.studies import names_in
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table

DESCRIPTION = "Trajectories of every optimizer on a quadratic, Rosenbrock and a saddle (PNG + CSV)."
TOLERANCE = 1e-6  # on f - f*


def surfaces():
  """The three surfaces, with the number of steps each gets and the plot window."""
  quadratic = problems.quadratic([1.0, 25.0], rotation_seed=3, start=[-2.5, 1.5],
                                 name="quadratic (kappa = 25)")
  return [(quadratic, 400, (-3, 3, -2.2, 2.2)),
          (problems.rosenbrock(), 4000, (-1.6, 1.6, -0.6, 1.8)),
          (problems.saddle(), 400, (-1.2, 1.2, -0.6, 2.0))]


def learning_rate_grid(quick: bool) -> np.ndarray:
  """1e-4 to 10, 8 rates a decade (4 with --quick): sign methods want 1e-3, LARS (whose
  trust coefficient is 1e-3) and Rprop's initial step several."""
  return np.logspace(-4, 1, 21 if quick else 41)


def paths(names: list, problem: problems.Problem, rates: np.ndarray, steps: int) -> dict:
  """Iterates [rates, steps + 1, 2] of each optimizer in `names` at every learning rate: every
  optimizer vmapped over the rates, all of them in one compiled program (float64)."""

  def run(name, rate):
    optimizer = BY_NAME[name](rate)

    def step(carry, _):
      w, state = carry
      updates, state = optimizer.update(jax.grad(problem.loss)(w), state, w)
      w = optax.apply_updates(w, updates)
      return (w, state), w

    w0 = jnp.asarray(problem.start)
    _, path = jax.lax.scan(step, (w0, optimizer.init(w0)), length=steps)
    return jnp.concatenate([w0[None], path])

  every = lambda rates: {name: jax.vmap(lambda r: run(name, r))(rates) for name in names}
  with jax.enable_x64(True):
    return {name: np.asarray(path) for name, path in jax.jit(every)(jnp.asarray(rates)).items()}


def suboptimality(problem: problems.Problem, path: np.ndarray) -> np.ndarray:
  with jax.enable_x64(True):
    values = jax.vmap(jax.vmap(problem.loss))(jnp.asarray(path))
  return np.asarray(values) - problem.minimum


def steps_to_tolerance(gap: np.ndarray) -> np.ndarray:
  """First step from which f - f* stays below TOLERANCE; -1 where it never does."""
  below = np.isfinite(gap) & (gap < TOLERANCE)
  stays = np.flip(np.logical_and.accumulate(np.flip(below, -1), -1), -1)
  return np.where(stays[..., -1], np.argmax(stays, -1), -1)


def best_rate(gap: np.ndarray) -> int:
  """Index of the fastest learning rate to tolerance, or of the lowest final gap if none gets there."""
  steps = steps_to_tolerance(gap)
  if (steps >= 0).any():
    return int(np.argmin(np.where(steps >= 0, steps, np.iinfo(np.int64).max)))
  final = np.where(np.isfinite(gap[:, -1]), gap[:, -1], np.inf)
  return int(np.argmin(final))


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--optimizers", default=",".join(BY_NAME),
                      help="comma-separated optimizers (default: all)")


def main(args: argparse.Namespace) -> list[Path]:
  names = names_in("--optimizers", args.optimizers, BY_NAME)
  rates = learning_rate_grid(args.quick)
  rows, best_paths = [], {}
  for problem, steps, _ in surfaces():
    steps = steps // 2 if args.quick else steps
    print(f"{problem.name}: {len(names)} optimizers x {len(rates)} learning rates x {steps} steps")
    every = paths(names, problem, rates, steps)
    for name in names:
      path = every[name]
      gap = suboptimality(problem, path)
      best = best_rate(gap)
      reached = int(steps_to_tolerance(gap[best:best + 1])[0])
      best_paths[problem.name, name] = (path[best], gap[best], rates[best], reached)
      rows.append({"surface": problem.name, "optimizer": name, "learning_rate": rates[best],
                   "steps_to_tolerance": reached if reached >= 0 else None,
                   "final_suboptimality": gap[best, -1], "steps_run": steps,
                   "tolerance": TOLERANCE})
  out = Path(args.out)
  table = pd.DataFrame(rows)
  return [save_table(table, out / "steps_to_tolerance.csv"),
          save_figure(plot_paths(names, best_paths), out / "trajectories.png"),
          save_figure(plot_gaps(names, best_paths), out / "suboptimality.png")]


def _label(name, rate, reached):
  return f"{name}, lr {rate:.2g}: " + (f"{reached} steps" if reached >= 0 else "not reached")


COLUMNS = 7  # small multiples per row


def plot_paths(names, best_paths):
  """Small multiples: one band per surface, its optimizers COLUMNS to a row, contours of
  log(f - f*)."""
  surfaces_ = surfaces()
  rows = -(-len(names) // COLUMNS)
  width = min(len(names), COLUMNS)
  fig = plt.figure(figsize=(2.3 * width, 2.45 * rows * len(surfaces_) + 0.6))
  bands = fig.subfigures(len(surfaces_), 1)
  for band, (problem, _, (x0, x1, y0, y1)) in zip(np.atleast_1d(bands), surfaces_):
    axes = band.subplots(rows, width, squeeze=False).ravel()
    x, y = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    with jax.enable_x64(True):
      grid = jnp.stack([x.ravel(), y.ravel()], -1)
      z = np.asarray(jax.vmap(problem.loss)(grid)).reshape(x.shape) - problem.minimum
    for ax, name in zip(axes, names):
      path, _, rate, reached = best_paths[problem.name, name]
      ax.contour(x, y, np.log10(z + 1e-3), levels=20, cmap="Greys", linewidths=0.5)
      ax.plot(path[:, 0], path[:, 1], ".-", color="tab:blue", lw=0.9, ms=2)
      ax.plot(*problem.start, "ko", ms=4)
      ax.plot(*problem.minimizer, "r*", ms=9)
      ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[])
      ax.set_title(_label(name, rate, reached), fontsize=7)
    for ax in axes[len(names):]:
      ax.set_axis_off()
    band.suptitle(f"{problem.name}: each optimizer at its fastest learning rate", fontsize=11)
  fig.suptitle("Black: start, red star: minimum; steps until f - f* < "
               f"{TOLERANCE:g} and stays there. Muon has no matrix here: a 2-D vector gets "
               "its Adam part", y=1.0 + 0.15 / (rows * len(surfaces_)), fontsize=10)
  return fig


def _style(i: int) -> dict:
  """21+ distinguishable lines: 10 colors, then the same colors dashed, then dotted."""
  return dict(color=plt.get_cmap("tab10")(i % 10), ls=["-", "--", ":"][i // 10 % 3])


def plot_gaps(names, best_paths):
  fig, axes = plt.subplots(1, 3, figsize=(19, 6.5))
  for ax, (problem, _, _) in zip(axes, surfaces()):
    for i, name in enumerate(names):
      _, gap, rate, reached = best_paths[problem.name, name]
      ax.semilogy(np.maximum(gap, 1e-16), lw=1.2, label=_label(name, rate, reached),
                  **_style(i))
    ax.axhline(TOLERANCE, color="k", ls=":", lw=1, label="tolerance")
    ax.set(xlabel="step", ylabel="$f(w_t) - f^*$", title=problem.name, ylim=(1e-16, None))
    ax.legend(fontsize=6, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
  fig.suptitle("Suboptimality per step at each optimizer's best learning rate")
  fig.tight_layout()
  return fig
