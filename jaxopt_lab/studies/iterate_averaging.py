"""Iterate averaging removes SGD's noise floor: theory against Monte Carlo on the noisy quadratic.

SGD at a constant learning rate on g = A w + xi, xi ~ N(0, sigma^2 I), ends in a noise ball:
E f(w_t) stalls at 1/2 sum_i lambda_i s_i^2 (`theory.sgd_expected_loss`). The same iterates,
averaged, do better: `polyak_averaging(sgd, start)` (equal weights after a burn-in) goes to 0
as sigma^2 / (2 lambda n), whatever the learning rate (`theory.polyak_average_variance`), and
`ema_averaging(sgd, decay)` lowers the floor by a factor set by its decay
(`theory.ema_stationary_variance`). The three optimizers run on the same noise, so their
parameters are the same iterates; only what is read differs. Writes iterate_averaging.png and
iterate_averaging.csv.

  jaxopt-lab iterate-averaging --out results/iterate-averaging
"""
import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pandas as pd

import jaxopt_lab as jl
from jaxopt_lab import theory
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.theory import problems

DESCRIPTION = ("Iterate averaging (Polyak-Ruppert, EMA) removes SGD's noise floor: theory vs "
               "Monte Carlo.")
EIGENVALUES = np.array([0.2, 0.5, 1.0, 2.0])
NOISE_STD = 0.1
LEARNING_RATES = (0.1, 0.5)
DECAY = 0.99  # of the EMA


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--chains", type=int, default=None,
                      help="Monte Carlo chains per learning rate (default 256; 64 with --quick)")


def plan(quick: bool) -> tuple[int, int]:
  """(steps, burn-in before Polyak averaging starts): the burn-in leaves a bias below 1e-4 of
  the floor in every eigendirection ((1 - lr lambda)^start for the smallest lr lambda)."""
  return (1000, 250) if quick else (4000, 500)


def label(key: str, start: int) -> str:
  return {"sgd": "SGD, last iterate", "polyak": f"Polyak average after step {start}",
          "ema": f"EMA of the iterates, decay {DECAY:g}"}[key]


def losses_along_runs(hessian, learning_rate, chains: int, steps: int, start: int, seed: int):
  """E f over the chains after every step, of the iterates w ("sgd") and of their averages
  ("polyak", "ema"), for SGD from w_0 = (1, ..., 1) in the eigenbasis, with its standard
  error; one compiled program (float64)."""
  optimizers = {"sgd": jl.sgd(learning_rate),
                "polyak": jl.polyak_averaging(jl.sgd(learning_rate), start),
                "ema": jl.ema_averaging(jl.sgd(learning_rate), DECAY)}
  hessian = jnp.asarray(hessian)
  loss = lambda w: 0.5 * w @ hessian @ w
  _, vectors = jnp.linalg.eigh(hessian)
  w0 = vectors @ jnp.ones(len(hessian))

  def chain(key):
    states = {name: opt.init(w0) for name, opt in optimizers.items()}

    def step(carry, k):
      w, states = carry
      noise = NOISE_STD * jax.random.normal(jax.random.fold_in(key, k), w.shape, w.dtype)
      grads = hessian @ w + noise
      updates, new_states = {}, {}
      for name, optimizer in optimizers.items():  # the same steps: wrappers only read them
        updates[name], new_states[name] = optimizer.update(grads, states[name], w)
      w = optax.apply_updates(w, updates["sgd"])
      read = {name: jl.evaluation_params(state, w) for name, state in new_states.items()}
      return (w, new_states), {name: loss(v) for name, v in read.items()}

    return jax.lax.scan(step, (w0, states), jnp.arange(steps))[1]

  keys = jax.random.split(jax.random.key(seed), chains)
  per_chain = jax.jit(jax.vmap(chain))(keys)
  return {name: (np.asarray(v.mean(0)), np.asarray(v.std(0, ddof=1)) / np.sqrt(chains))
          for name, v in per_chain.items()}


def theory_losses(learning_rate, steps: int, start: int) -> dict:
  """The theory of each curve at steps 1..steps (NaN where it does not apply)."""
  t = np.arange(1, steps + 1)
  half_sum = lambda variance: 0.5 * np.sum(EIGENVALUES * variance, -1)
  sgd = theory.sgd_expected_loss(learning_rate, EIGENVALUES, NOISE_STD, 1.0, steps)[1:]
  averaged = np.full(steps, np.nan)
  n = t[t > start] - start
  averaged[t > start] = half_sum(theory.polyak_average_variance(
      np.full(n.shape, learning_rate), EIGENVALUES, NOISE_STD, n))
  floor = half_sum(theory.sgd_stationary_variance(learning_rate, EIGENVALUES, NOISE_STD))
  ema = half_sum(theory.ema_stationary_variance(learning_rate, DECAY, EIGENVALUES, NOISE_STD))
  stationary = np.where(t > steps // 4, float(np.squeeze(ema)), np.nan)  # drawn once settled
  return {"sgd": sgd, "polyak": averaged, "floor": np.full(steps, floor), "ema": stationary}


def main(args: argparse.Namespace) -> list[Path]:
  chains = args.chains or (64 if args.quick else 256)
  if chains < 2:
    raise ValueError(f"--chains must be at least 2, got {chains}")
  steps, start = plan(args.quick)
  problem = problems.quadratic(EIGENVALUES, rotation_seed=5)
  rows, curves = [], {}
  with jax.enable_x64(True):
    for i, lr in enumerate(LEARNING_RATES):
      measured = losses_along_runs(problem.hessian, lr, chains, steps, start, seed=i)
      expected = theory_losses(lr, steps, start)
      curves[lr] = (measured, expected)
      for key, (mean, error) in measured.items():
        rows.append({"learning_rate": lr, "method": label(key, start), "steps": steps,
                     "chains": chains,
                     "final_loss": mean[-1], "standard_error": error[-1],
                     "theory": expected[key][-1], "sgd_noise_floor": expected["floor"][-1]})
  table = pd.DataFrame(rows)
  table["relative_error"] = table.final_loss / table.theory - 1
  for row in table.itertuples():
    print(f"  lr {row.learning_rate:g} {row.method:30s} E f = {row.final_loss:.3g} "
          f"(theory {row.theory:.3g}, SGD floor {row.sgd_noise_floor:.3g})")
  out = Path(args.out)
  return [save_table(table, out / "iterate_averaging.csv"),
          save_figure(plot(curves, steps, start, chains), out / "iterate_averaging.png")]


def plot(curves: dict, steps: int, start: int, chains: int):
  fig, axes = plt.subplots(1, len(curves), figsize=(7 * len(curves), 6.2), squeeze=False)
  t = np.arange(1, steps + 1)
  colors = dict(zip(("sgd", "polyak", "ema"), ("tab:red", "tab:blue", "tab:green")))
  for ax, (lr, (measured, expected)) in zip(axes[0], curves.items()):
    for key in colors:
      (mean, error), name = measured[key], label(key, start)
      if key == "polyak":  # before it starts, the "average" is the initial point: not drawn
        mean, error = np.where(t > start, mean, np.nan), np.where(t > start, error, np.nan)
      ax.fill_between(t, np.maximum(mean - 2 * error, 1e-12), mean + 2 * error,
                      color=colors[key], alpha=0.3, lw=0)
      ax.plot(t, mean, color=colors[key], lw=1, label=f"{name}: Monte Carlo ± 2 s.e.")
      ax.plot(t, expected[key], color=colors[key], lw=1.6, ls="--",
              label=f"{name}: theory" + (" (stationary)" if key == "ema" else ""))
    ax.axhline(expected["floor"][0], color="k", lw=0.8, ls=":", label="SGD's noise floor")
    ax.axvline(start, color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="step t", ylabel="E f (mean over chains)",
           title=f"learning rate {lr:g}: the Polyak average falls as σ²/(2λn) below the floor")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2)
  fig.suptitle(f"SGD with gradient noise σ = {NOISE_STD:g} on a quadratic (eigenvalues "
               f"{', '.join(map(str, EIGENVALUES))}), {chains} chains:\nthe same iterates, "
               "read as the last one, their average after a burn-in (grey line), or their EMA")
  fig.tight_layout()
  return fig
