"""Full-batch methods on L2-regularised softmax regression (a linear classifier) on digits.

Part 1: iterations and wall time until |grad f| <= tol for gradient descent, momentum and Adam
(each at its fastest learning rate from a log grid, all grid values run at once under vmap),
L-BFGS and Newton (direct and conjugate-gradient), each a single `jaxopt_lab.optim.minimize` call,
timed after a compiling warm-up with block_until_ready. Suboptimality f - f* is measured
against a reference optimum from Newton-CG run to |grad f| <= 1e-12. Everything is float64.
Part 2: L-BFGS fed minibatches (a fresh batch every step, the line search on batch values),
against full batch: the lecture's warning that L-BFGS "does not transfer very well to the
mini-batch setting". Writes full_batch.png, minibatch_lbfgs.png, time_to_tolerance.csv and
minibatch_lbfgs.csv.
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

from jaxopt_lab.train import data
from jaxopt_lab.optim.minimize import METHODS, minimize
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim.second_order import lbfgs
from jaxopt_lab.studies import FLOAT32_MAX, SEED_MAX, check_option

DESCRIPTION = ("Full-batch softmax regression on digits: GD, momentum, Adam, L-BFGS, Newton to a "
               "tolerance; L-BFGS on minibatches (PNG + CSV).")
# label -> (minimize method, fixed options, learning-rate grid searched or None)
METHOD_GRID = {
    "gd": ("gd", {}, np.logspace(-1, 2, 10)),
    "momentum": ("momentum", {"beta": 0.9}, np.logspace(-2, 1.5, 10)),
    "adam": ("adam", {}, np.logspace(-3, 0, 10)),
    "lbfgs": ("lbfgs", {}, None),
    "newton": ("newton", {}, None),
    "newton-cg": ("newton", {"solver": "cg", "cg_tol": 1e-10}, None),
}
COLORS = dict(zip(METHOD_GRID, plt.get_cmap("tab10").colors))


def softmax_regression_loss(params, x, y, l2):
  """Mean cross-entropy of softmax(x W + b) on labels y, plus l2/2 (|W|^2 + |b|^2).

  Strongly convex for l2 > 0 (the bias is penalised too: softmax is blind to adding the same
  vector to every class, so without it the optimum would not be unique).
  """
  logits = x @ params["w"] + params["b"]
  picked = jnp.take_along_axis(logits, y[:, None], axis=-1)[:, 0]
  cross_entropy = jnp.mean(jax.nn.logsumexp(logits, axis=-1) - picked)
  return cross_entropy + 0.5 * l2 * (jnp.sum(params["w"] ** 2) + jnp.sum(params["b"] ** 2))


def zeros(num_features: int, num_classes: int):
  return {"w": jnp.zeros((num_features, num_classes)), "b": jnp.zeros(num_classes)}


def timed(solve, repeats: int):
  """solve()'s result and its median wall time over `repeats` runs, after a compiling warm-up."""
  result = jax.block_until_ready(solve())
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    result = jax.block_until_ready(solve())
    times.append(time.perf_counter() - start)
  return result, float(np.median(times))


def best_learning_rate(method, options, grid, params, args, max_steps, tol):
  """The grid value reaching tol in the fewest steps (all values in one vmapped solve); the
  lowest final gradient norm where none reaches it."""
  solve = jax.jit(jax.vmap(lambda rate: minimize(
      softmax_regression_loss, params, method, args=args, max_steps=max_steps, tol=tol,
      learning_rate=rate, **options)))
  result = solve(jnp.asarray(grid))
  steps = np.where(np.asarray(result.converged), np.asarray(result.num_steps), np.inf)
  norms = np.nan_to_num(np.asarray(result.grad_norm), nan=np.inf)
  return float(grid[np.argmin(steps) if np.isfinite(steps).any() else np.argmin(norms)])


def suboptimality_curve(method, options, params, args, steps, f_star):
  """f(w_t) - f* for t = 0..steps of the iteration minimize runs, and the evaluations of f
  each step costs where minimize reuses a line search's (one compiled scan)."""
  optimizer = METHODS[method](**options)
  value_fn = lambda p: softmax_regression_loss(p, *args)

  def step(carry, _):
    p, state = carry
    value, grad = jax.value_and_grad(value_fn)(p)
    updates, state = optimizer.update(grad, state, p, value=value, grad=grad, value_fn=value_fn)
    p = optax.apply_updates(p, updates)
    evaluations = optax.tree.get(state, "num_evaluations", jnp.ones([], jnp.int32))
    return (p, state), (value_fn(p) - f_star, evaluations)

  run = jax.jit(lambda p: jax.lax.scan(step, (p, optimizer.init(p)), length=steps)[1])
  gap, evaluations = run(params)
  return (np.concatenate([[float(value_fn(params) - f_star)], np.asarray(gap)]),
          np.asarray(evaluations))


def minibatch_curve(dataset, l2, batch_size, steps, f_star, seed):
  """L-BFGS fed a fresh minibatch each step (gradient and line search on that batch); returns
  the epochs of examples evaluated and the full-batch f - f* after every step."""
  x, y = dataset.x_train, dataset.y_train
  size = dataset.train_size
  optimizer = lbfgs()
  batch_loss = lambda p, x, y: softmax_regression_loss(p, x, y, l2)
  key = jax.random.key(seed)

  def step(carry, t):
    p, state = carry
    index, _ = data.minibatch(key, t, size, batch_size, drop_last=True)
    xb, yb = x[index], y[index]
    value, grad = jax.value_and_grad(batch_loss)(p, xb, yb)
    updates, state = optimizer.update(grad, state, p, value=value, grad=grad,
                                      value_fn=batch_loss, x=xb, y=yb)
    p = optax.apply_updates(p, updates)
    evaluations = 1 + optax.tree.get(state, "num_evaluations")
    return (p, state), (evaluations * batch_size, batch_loss(p, x, y) - f_star)

  params = zeros(dataset.num_features, dataset.num_classes)
  run = jax.jit(lambda p: jax.lax.scan(step, (p, optimizer.init(p)), jnp.arange(steps))[1])
  examples, gap = run(params)
  return np.cumsum(np.asarray(examples)) / size, np.asarray(gap)


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty (default: %(default)s)")
  parser.add_argument("--tol", type=float, default=1e-6,
                      help="tolerance on |grad f| (default: %(default)s)")
  parser.add_argument("--repeats", type=int, default=5,
                      help="timed runs per method, median reported (default: %(default)s)")
  parser.add_argument("--seed", type=int, default=0, help="data split and batch order")


def main(args: argparse.Namespace) -> list[Path]:
  check_option("--l2", args.l2, 1e-300, FLOAT32_MAX, " (positive, for a unique optimum)")
  check_option("--tol", args.tol, 1e-300, FLOAT32_MAX)
  check_option("--repeats", args.repeats, 1, 1000)
  check_option("--seed", args.seed, 0, SEED_MAX)
  max_steps = 2000 if args.quick else 20000
  repeats = 1 if args.quick else args.repeats
  methods = ["gd", "lbfgs", "newton-cg"] if args.quick else list(METHOD_GRID)
  with jax.enable_x64(True):
    dataset = data.digits(args.seed)
    # quick: every 4th pixel, 170 parameters
    x = jnp.asarray(dataset.x_train[:, ::4] if args.quick else dataset.x_train, jnp.float64)
    dataset = dataset._replace(x_train=x)
    loss_args = (dataset.x_train, dataset.y_train, args.l2)
    params = zeros(dataset.num_features, dataset.num_classes)
    newton_cg, options, _ = METHOD_GRID["newton-cg"]
    reference = minimize(softmax_regression_loss, params, newton_cg, args=loss_args,
                         max_steps=max_steps, tol=1e-12, **options)
    f_star = float(reference.value)
    print(f"reference optimum: f* = {f_star:.15f}, |grad f| = {float(reference.grad_norm):.1e}")
    rows, curves = [], {}
    for label in methods:
      method, options, grid = METHOD_GRID[label]
      options = dict(options)
      if grid is not None and args.quick:  # the grid's middle value, without the search
        options["learning_rate"] = float(grid[len(grid) // 2])
      elif grid is not None:
        options["learning_rate"] = best_learning_rate(method, options, grid, params, loss_args,
                                                      max_steps, args.tol)
      solve = lambda: minimize(softmax_regression_loss, params, method, args=loss_args,
                               max_steps=max_steps, tol=args.tol, **options)
      result, wall = timed(solve, repeats)
      steps = int(result.num_steps)
      curves[label] = suboptimality_curve(method, options, params, loss_args, steps, f_star)
      rows.append({"method": label, "learning_rate": options.get("learning_rate"),
                   "iterations": steps, "converged": bool(result.converged),
                   "wall_time_s": wall, "ms_per_iteration": 1e3 * wall / max(steps, 1),
                   "final_grad_norm": float(result.grad_norm),
                   "final_suboptimality": float(result.value) - f_star, "tol": args.tol,
                   "l2": args.l2, "parameters": dataset.num_features * dataset.num_classes
                   + dataset.num_classes})
      print(f"{label:>10}: {steps:6d} iterations, {wall * 1e3:9.2f} ms, "
            f"f - f* = {rows[-1]['final_suboptimality']:.1e}")
    batch_sizes = [64] if args.quick else [32, 128, 512]
    mini_steps = 100 if args.quick else 400
    gap, evaluations = curves["lbfgs"]
    minibatch_curves = {dataset.train_size: (np.cumsum([1, *evaluations]), gap)}
    for batch_size in batch_sizes:
      minibatch_curves[batch_size] = minibatch_curve(dataset, args.l2, batch_size, mini_steps,
                                                     f_star, args.seed)
  minibatch_rows = [{"batch_size": batch_size, "iteration": t + 1, "epochs": e,
                     "suboptimality": g}
                    for batch_size, (epochs, gap) in minibatch_curves.items()
                    for t, (e, g) in enumerate(zip(epochs, gap))]
  out = Path(args.out)
  table = pd.DataFrame(rows)
  return [save_table(table, out / "time_to_tolerance.csv"),
          save_table(pd.DataFrame(minibatch_rows), out / "minibatch_lbfgs.csv"),
          save_figure(plot_full_batch(table, {k: v[0] for k, v in curves.items()}, args),
                      out / "full_batch.png"),
          save_figure(plot_minibatch(minibatch_curves, dataset.train_size), out /
                      "minibatch_lbfgs.png")]


def _floor(gap):
  return np.maximum(gap, 1e-16)


def plot_full_batch(table, curves, args):
  fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
  for row in table.itertuples():
    rate = f", lr {row.learning_rate:.2g}" if row.learning_rate == row.learning_rate else ""
    reached = f"{row.iterations} it." if row.converged else f"not reached in {row.iterations}"
    steps = np.arange(len(curves[row.method]))
    left.loglog(steps + 1, _floor(curves[row.method]), color=COLORS[row.method], lw=1.4,
                ls="--" if row.method.endswith("-cg") else "-",
                label=f"{row.method}{rate}: {reached}")
  left.set(xlabel="iteration t + 1 (log scale)", ylabel="$f(w_t) - f^*$",
           title="Suboptimality per iteration (each method at its best learning rate)")
  left.legend()
  bars = right.barh(table.method, table.wall_time_s * 1e3,
                    color=[COLORS[m] for m in table.method])
  for bar, row in zip(bars, table.itertuples()):
    note = f" {row.iterations} it., {row.ms_per_iteration:.3g} ms/it."
    right.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
               note + ("" if row.converged else " (not reached)"), va="center", fontsize=8)
  right.set_xscale("log")
  right.set_xlim(right=right.get_xlim()[1] * 8)
  right.invert_yaxis()
  right.set(xlabel="wall time to |grad f| <= tol (ms, median, compile excluded)",
            title=f"Time to |grad f| <= {args.tol:g} on {jax.default_backend().upper()}")
  fig.suptitle(f"Softmax regression on digits ({table.parameters[0]} parameters, "
               f"L2 {args.l2:g}, float64, full batch)")
  fig.tight_layout()
  return fig


def plot_minibatch(curves, train_size):
  fig, ax = plt.subplots(figsize=(7.5, 4.8))
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(curves)))
  for color, batch_size in zip(colors, sorted(curves)):
    epochs, gap = curves[batch_size]
    label = ("full batch (until |grad f| <= tol)" if batch_size == train_size
             else f"minibatch {batch_size}")
    ax.loglog(epochs, _floor(gap), color=color, lw=1.3, label=f"L-BFGS, {label}")
  ax.set(xlabel="epochs of examples evaluated (gradients and line-search values)",
         ylabel="full-batch $f(w_t) - f^*$",
         title="L-BFGS on minibatches: noisy curvature pairs and line search stall it")
  ax.legend()
  return fig
