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


def near_best_rates(gap: np.ndarray, rates: np.ndarray, slack: float = 1.1) -> tuple:
  """(lowest, highest) grid rate reaching tolerance within `slack` x the fastest's steps: with
  beta fixed, momentum methods converge at one rate (sqrt(beta) for heavy ball) over a wide
  band of learning rates, so which grid point is "fastest" is decided by the transient alone;
  the band says how flat that optimum is. (nan, nan) where none reaches tolerance."""
  steps = steps_to_tolerance(gap)
  if not (steps >= 0).any():
    return np.nan, np.nan
  near = (steps >= 0) & (steps <= slack * steps[steps >= 0].min())
  return float(rates[near].min()), float(rates[near].max())


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
    every = paths(names, problem, rates, steps)
    for name in names:
      path = every[name]
      gap = suboptimality(problem, path)
      best = best_rate(gap)
      reached = int(steps_to_tolerance(gap[best:best + 1])[0])
      low, high = near_best_rates(gap, rates)
      best_paths[problem.name, name] = (path[best], gap[best], rates[best], reached, low, high)
      rows.append({"surface": problem.name, "optimizer": name, "learning_rate": rates[best],
                   "steps_to_tolerance": reached if reached >= 0 else None,
                   "near_best_low": low, "near_best_high": high,
                   "final_suboptimality": gap[best, -1], "steps_run": steps,
                   "tolerance": TOLERANCE})
  out = Path(args.out)
  table = pd.DataFrame(rows)
  return [save_table(table, out / "steps_to_tolerance.csv"),
          save_figure(plot_paths(names, best_paths), out / "trajectories.png"),
          save_figure(plot_gaps(names, best_paths), out / "suboptimality.png")]


def _label(name, rate, reached, low=np.nan, high=np.nan):
  """'name, lr 0.042 [0.013, 0.075]: 57 steps': the bracket is the band of rates within 10% of
  the fastest step count (a flat optimum for the momentum methods)."""
  band = "" if np.isnan(low) or low == high else f" [{low:.2g}, {high:.2g}]"
  return f"{name}, lr {rate:.2g}{band}: " + (f"{reached} steps" if reached >= 0 else
                                             "not reached")


COLUMNS = 7  # small multiples per row


def window(default: tuple, paths: list, most: float = 3.0) -> tuple:
  """The default plot window grown to hold every path (at most `most` x its size around its
  centre): a path that swings wide at its fastest rate stays in its panel."""
  x0, x1, y0, y1 = default
  points = np.concatenate([p[np.isfinite(p).all(-1)] for p in paths])
  cx, cy, wx, wy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
  lo = np.maximum(points.min(0), [cx - most * wx, cy - most * wy])
  hi = np.minimum(points.max(0), [cx + most * wx, cy + most * wy])
  pad = 0.05 * np.array([x1 - x0, y1 - y0])
  return (min(x0, lo[0] - pad[0]), max(x1, hi[0] + pad[0]), min(y0, lo[1] - pad[1]),
          max(y1, hi[1] + pad[1]))


def plot_paths(names, best_paths):
  """Small multiples: one band per surface, its optimizers COLUMNS to a row, contours of
  log(f - f*), each panel's window grown to hold its path. A line joins the iterates, a dot
  marks every (steps/40)-th: thousands of dots on Rosenbrock would merge into a band."""
  surfaces_ = surfaces()
  rows = -(-len(names) // COLUMNS)
  width = min(len(names), COLUMNS)
  fig = plt.figure(figsize=(2.7 * width, 2.6 * rows * len(surfaces_) + 0.8))
  bands = fig.subfigures(len(surfaces_), 1)
  for band, (problem, _, default) in zip(np.atleast_1d(bands), surfaces_):
    axes = band.subplots(rows, width, squeeze=False).ravel()
    loss = jax.jit(jax.vmap(problem.loss))
    for ax, name in zip(axes, names):
      path, _, rate, reached, low, high = best_paths[problem.name, name]
      x0, x1, y0, y1 = window(default, [path])  # each panel holds its own path
      x, y = np.meshgrid(np.linspace(x0, x1, 150), np.linspace(y0, y1, 150))
      with jax.enable_x64(True):
        z = np.asarray(loss(jnp.stack([x.ravel(), y.ravel()], -1))).reshape(x.shape)
      z = z - problem.minimum
      ax.contour(x, y, np.log10(z + 1e-3), levels=20, cmap="Greys", linewidths=0.5)
      ax.plot(path[:, 0], path[:, 1], "-", color="tab:blue", lw=0.7)
      ax.plot(path[:, 0], path[:, 1], ".", color="tab:blue", ms=3,
              markevery=max(1, len(path) // 40))
      ax.plot(*problem.start, "ko", ms=4)
      ax.plot(*problem.minimizer, "r*", ms=9)
      ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[])
      ax.set_title(_label(name, rate, reached, low, high), fontsize=7)
    for ax in axes[len(names):]:
      ax.set_axis_off()
    band.suptitle(f"{problem.name}: each optimizer at its fastest learning rate", fontsize=11)
  fig.suptitle("Black: start, red star: minimum; steps until f - f* < "
               f"{TOLERANCE:g} and stays there; [low, high]: the rates within 10% of the "
               "fastest.\nHeavy ball with beta = 0.9 converges at rate sqrt(beta) over a wide "
               "band of rates, so its fastest grid rate is set by the transient. Muon has no "
               "matrix here: a 2-D vector gets its Adam part",
               y=1.0 + 0.2 / (rows * len(surfaces_)), fontsize=9)
  return fig


def _style(i: int) -> dict:
  """21+ distinguishable lines: 10 colors, then the same colors dashed, then dotted."""
  return dict(color=plt.get_cmap("tab10")(i % 10), ls=["-", "--", ":"][i // 10 % 3])


def plot_gaps(names, best_paths):
  fig, axes = plt.subplots(1, 3, figsize=(19, 6.5))
  for ax, (problem, _, _) in zip(axes, surfaces()):
    for i, name in enumerate(names):
      _, gap, rate, reached, low, high = best_paths[problem.name, name]
      ax.semilogy(np.maximum(gap, 1e-16), lw=1.2,
                  label=_label(name, rate, reached, low, high), **_style(i))
    ax.axhline(TOLERANCE, color="k", ls=":", lw=1, label="tolerance")
    ax.set(xlabel="step", ylabel="$f(w_t) - f^*$", title=problem.name, ylim=(1e-16, None))
    ax.legend(fontsize=6, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
  fig.suptitle("Suboptimality per step at each optimizer's best learning rate")
  fig.tight_layout()
  return fig
