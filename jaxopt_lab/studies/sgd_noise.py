"""SGD with additive gradient noise: theory against Monte Carlo over vmapped chains.

Gradients g = A w + xi, xi ~ N(0, sigma^2 I), on a rotated quadratic. Left: the stationary
loss 1/2 sum_i lambda_i Var w_i against the learning rate, for gradient descent
(`theory.sgd_stationary_variance`) and heavy ball (`theory.momentum_stationary_variance`),
each dot the time average of many chains of `jaxopt_lab.sgd` / `momentum`. Right: the
expected loss along a run from w_0 (`theory.sgd_expected_loss`) against the chains' mean.
Writes sgd_noise.png, sgd_noise_stationary.csv and sgd_noise_transient.csv.

  jaxopt-lab sgd-noise --out results/sgd-noise
"""
import argparse
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pandas as pd

import jaxopt_lab as jl
from jaxopt_lab import theory
from jaxopt_lab.theory import problems
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.studies import check_option

DESCRIPTION = "SGD noise: stationary and transient expected loss, theory vs vmapped Monte Carlo."
EIGENVALUES = np.array([0.2, 0.5, 1.0, 2.0])
NOISE_STD = 0.1
BETAS = (0.0, 0.5, 0.8)  # 0 is plain SGD (jaxopt_lab.sgd)
TRANSIENT_RATES = (0.05, 0.3, 0.9)


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--chains", type=int, default=None,
                      help="Monte Carlo chains per configuration (default 256; 32 with --quick)")


class NoisyRuns(NamedTuple):
  mean: np.ndarray            # [configurations, steps + 1]: f(w_k) averaged over the chains
  standard_error: np.ndarray  # [configurations, steps + 1]: of that mean, across chains
  tail: np.ndarray            # [configurations, chains]: each chain's mean f over the 2nd half


def noisy_runs(factory, hyperparameters: dict, starts, hessian, chains: int, steps: int,
               seed: int) -> NoisyRuns:
  """Runs of factory(**configuration) on gradients A w + xi from starts[configuration], with
  `chains` chains vmapped inside each step and configurations vmapped outside, in one
  compiled program (float64); the statistics are taken as the chains run."""
  names = list(hyperparameters)
  columns = np.broadcast_arrays(*[np.asarray(v, np.float64) for v in hyperparameters.values()])

  def run(values, start):
    optimizer = factory(**dict(zip(names, values)))
    losses = lambda w: 0.5 * jnp.einsum("ci,ij,cj->c", w, hessian, w)
    keys = jax.random.split(jax.random.key(seed), chains)

    def chain_step(w, state, key):
      noise = NOISE_STD * jax.random.normal(key, w.shape, w.dtype)
      updates, state = optimizer.update(hessian @ w + noise, state, w)
      return optax.apply_updates(w, updates), state

    def step(carry, k):
      w, state, tail = carry
      step_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, k)
      w, state = jax.vmap(chain_step)(w, state, step_keys)
      f = losses(w)
      tail = tail + jnp.where(k + 1 > steps // 2, f, 0.0)
      return (w, state, tail), (f.mean(), f.std(ddof=1) / np.sqrt(chains))

    w0 = jnp.broadcast_to(start, (chains, start.size))
    state = jax.vmap(optimizer.init)(w0)
    (_, _, tail), (mean, error) = jax.lax.scan(step, (w0, state, jnp.zeros(chains)),
                                               jnp.arange(steps))
    first = losses(w0)
    return (jnp.concatenate([first.mean()[None], mean]),
            jnp.concatenate([jnp.zeros(1), error]), tail / (steps - steps // 2))

  with jax.enable_x64(True):
    hessian = jnp.asarray(hessian)
    values = tuple(jnp.asarray(c.ravel()) for c in columns)
    starts = jnp.broadcast_to(jnp.asarray(starts, jnp.float64), (columns[0].size, len(hessian)))
    return NoisyRuns(*map(np.asarray, jax.jit(jax.vmap(run))(values, starts)))


def experiment(problem, eigenvectors, quick: bool, chains: int):
  """The stationary grid, every (beta, learning rate) from w_0 = w*, and plain SGD's transient
  from weight 1 on every eigenvector: two programs (sgd for both, momentum)."""
  steps = 600 if quick else 3000
  rates = np.linspace(0.05, 0.95, 3 if quick else 10)
  grid = pd.DataFrame([(beta, lr) for beta in BETAS for lr in rates],
                      columns=["beta", "learning_rate"])
  plain = (grid.beta == 0).to_numpy()
  origin, spread = np.zeros(EIGENVALUES.size), eigenvectors @ np.ones(EIGENVALUES.size)
  sgd_rates = np.concatenate([grid.learning_rate[plain], TRANSIENT_RATES])
  sgd_starts = [origin] * plain.sum() + [spread] * len(TRANSIENT_RATES)
  sgd = noisy_runs(jl.sgd, {"learning_rate": sgd_rates}, sgd_starts, problem.hessian, chains,
                   steps, seed=1)
  heavy = noisy_runs(jl.momentum, {"learning_rate": grid.learning_rate[~plain],
                                   "beta": grid.beta[~plain]}, origin, problem.hessian, chains,
                     steps, seed=2)
  tails = np.empty((len(grid), chains))
  tails[plain], tails[~plain] = sgd.tail[:plain.sum()], heavy.tail
  variance = theory.momentum_stationary_variance(grid.learning_rate, grid.beta, EIGENVALUES,
                                                 NOISE_STD)
  grid["theory_loss"] = 0.5 * np.sum(EIGENVALUES * variance, -1)
  grid["monte_carlo_loss"] = tails.mean(1)
  grid["standard_error"] = tails.std(1, ddof=1) / np.sqrt(chains)
  grid["relative_error"] = grid.monte_carlo_loss / grid.theory_loss - 1
  grid["chains"], grid["steps"] = chains, steps

  shown = 100 if quick else 300
  expected = theory.sgd_expected_loss(np.array(TRANSIENT_RATES), EIGENVALUES, NOISE_STD, 1.0,
                                      shown)
  moving = pd.concat([pd.DataFrame({
      "learning_rate": lr, "step": np.arange(shown + 1), "theory_loss": expected[i],
      "monte_carlo_loss": sgd.mean[plain.sum() + i, :shown + 1],
      "standard_error": sgd.standard_error[plain.sum() + i, :shown + 1]})
      for i, lr in enumerate(TRANSIENT_RATES)], ignore_index=True)
  return grid, moving


def main(args: argparse.Namespace) -> list[Path]:
  if args.chains is not None:
    check_option("--chains", args.chains, 2, 65536)
  chains = args.chains or (32 if args.quick else 256)
  problem = problems.quadratic(EIGENVALUES, rotation_seed=5)
  _, eigenvectors = np.linalg.eigh(problem.hessian)
  still, moving = experiment(problem, eigenvectors, args.quick, chains)
  print(f"stationary loss: Monte Carlo within {100 * still.relative_error.abs().max():.2g}% "
        f"of theory ({chains} chains)")
  out = Path(args.out)
  return [save_table(still, out / "sgd_noise_stationary.csv"),
          save_table(moving, out / "sgd_noise_transient.csv"),
          save_figure(plot(still, moving), out / "sgd_noise.png")]


def plot(still: pd.DataFrame, moving: pd.DataFrame):
  fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
  dense = np.linspace(0.01, 0.99, 300)
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.8, len(BETAS)))
  for beta, color in zip(BETAS, colors):
    variance = theory.momentum_stationary_variance(dense, beta, EIGENVALUES, NOISE_STD)
    name = "SGD (jaxopt_lab.sgd)" if beta == 0 else f"heavy ball β = {beta:g}"
    left.plot(dense, 0.5 * np.sum(EIGENVALUES * variance, -1), color=color, label=name + ": theory")
    points = still[still.beta == beta]
    left.errorbar(points.learning_rate, points.monte_carlo_loss, 2 * points.standard_error,
                  fmt="o", color=color, mec="black", ms=5, capsize=2,
                  label=name + ": Monte Carlo ± 2 s.e.")
  left.set(yscale="log", xlabel="learning rate α",
           ylabel="stationary E f(w) = ½ Σ λ_i Var w_i",
           title=f"Stationary loss under gradient noise σ = {NOISE_STD:g} "
                 f"({int(still.chains[0])} chains, eigenvalues {', '.join(map(str, EIGENVALUES))})")
  left.legend(fontsize=7)
  for lr, color in zip(TRANSIENT_RATES, plt.get_cmap("plasma")(np.linspace(0, 0.75, 3))):
    rows = moving[moving.learning_rate == lr]
    right.plot(rows.step, rows.theory_loss, color=color, lw=1.5,
               label=f"α = {lr:g}: theory (recursion)")
    right.fill_between(rows.step, rows.monte_carlo_loss - 2 * rows.standard_error,
                       rows.monte_carlo_loss + 2 * rows.standard_error, color=color, alpha=0.25,
                       label=f"α = {lr:g}: Monte Carlo mean ± 2 s.e.")
  right.set(yscale="log", xlabel="step k", ylabel="E f(w_k)",
            title="Expected loss of SGD from w_0: the bias decays as (1 - αλ)^2k to the noise "
                  "floor")
  right.legend(fontsize=7)
  fig.tight_layout()
  return fig
