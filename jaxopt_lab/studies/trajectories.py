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
  return np.logspace(-4, 0, 17 if quick else 33)


def paths(name: str, problem: problems.Problem, rates: np.ndarray, steps: int) -> np.ndarray:
  """Iterates [rates, steps + 1, 2] of optimizer `name` at every learning rate, in one program."""

  def run(rate):
    optimizer = BY_NAME[name](rate)

    def step(carry, _):
      w, state = carry
      updates, state = optimizer.update(jax.grad(problem.loss)(w), state, w)
      w = optax.apply_updates(w, updates)
      return (w, state), w

    w0 = jnp.asarray(problem.start)
    _, path = jax.lax.scan(step, (w0, optimizer.init(w0)), length=steps)
    return jnp.concatenate([w0[None], path])

  with jax.enable_x64(True):
    return np.asarray(jax.jit(jax.vmap(run))(jnp.asarray(rates)))


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
  parser.add_argument("--optimizer", "--optimizers", dest="optimizers", metavar="NAMES",
                      default=",".join(BY_NAME),
                      help=f"comma-separated optimizers of {', '.join(BY_NAME)} (default: all)")


def main(args: argparse.Namespace) -> list[Path]:
  names = names_in("--optimizer", args.optimizers, BY_NAME)
  rates = learning_rate_grid(args.quick)
  rows, best_paths = [], {}
  for problem, steps, _ in surfaces():
    steps = steps // 2 if args.quick else steps
    print(f"{problem.name}: {len(names)} optimizers x {len(rates)} learning rates x {steps} steps")
    for name in names:
      path = paths(name, problem, rates, steps)
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


def plot_paths(names, best_paths):
  """Small multiples: one row per surface, one column per optimizer, contours of log(f - f*)."""
  rows = surfaces()
  fig, axes = plt.subplots(len(rows), len(names), figsize=(2.3 * len(names), 2.4 * len(rows)),
                           squeeze=False)
  for row, (problem, _, (x0, x1, y0, y1)) in zip(axes, rows):
    x, y = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    with jax.enable_x64(True):
      grid = jnp.stack([x.ravel(), y.ravel()], -1)
      z = np.asarray(jax.vmap(problem.loss)(grid)).reshape(x.shape) - problem.minimum
    for ax, name in zip(row, names):
      path, _, rate, reached = best_paths[problem.name, name]
      ax.contour(x, y, np.log10(z + 1e-3), levels=20, cmap="Greys", linewidths=0.5)
      ax.plot(path[:, 0], path[:, 1], ".-", color="tab:blue", lw=0.9, ms=2)
      ax.plot(*problem.start, "ko", ms=4)
      ax.plot(*problem.minimizer, "r*", ms=9)
      ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[])
      ax.set_title(_label(name, rate, reached), fontsize=8)
    row[0].set_ylabel(f"{problem.name}\n$w_2$")
  for ax in axes[-1]:
    ax.set_xlabel("$w_1$")
  fig.suptitle("Each optimizer at its fastest learning rate (black: start, red star: minimum, "
               f"steps until f - f* < {TOLERANCE:g})")
  fig.tight_layout()
  return fig


def plot_gaps(names, best_paths):
  colors = plt.get_cmap("tab10")
  fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
  for ax, (problem, _, _) in zip(axes, surfaces()):
    for i, name in enumerate(names):
      _, gap, rate, reached = best_paths[problem.name, name]
      ax.semilogy(np.maximum(gap, 1e-16), color=colors(i), lw=1.2,
                  label=_label(name, rate, reached))
    ax.axhline(TOLERANCE, color="k", ls=":", lw=1, label="tolerance")
    ax.set(xlabel="step", ylabel="$f(w_t) - f^*$", title=problem.name, ylim=(1e-16, None))
    ax.legend()
  fig.suptitle("Suboptimality per step at each optimizer's best learning rate")
  return fig
