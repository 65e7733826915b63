"""Heavy ball's rate map: a 512 x 512 (learning rate, beta) grid over 1000 eigenvalues.

Contenders, each giving rho[i, j] = max over the spectrum of the spectral radius of
[[beta, lambda], [-alpha beta, 1 - alpha lambda]]:
  theory.momentum_rate    the library: closed form at the spectrum's two extremes (exact,
                          since the radius falls then rises in alpha lambda), NumPy float64
  fused, all eigenvalues  the same closed form at every eigenvalue, max-accumulated in one
                          jitted XLA loop (float64 and float32): 262M radii, no shortcut
  numpy eigvals           np.linalg.eigvals on stacked 2x2 matrices, timed on a 16 x 16
                          corner of the grid and scaled to the whole map (per matrix)
Rounds are interleaved and the median reported; agreement with the library is checked on the
whole map (fused) and on the corner (eigvals). Writes JSON and a markdown table.

  python -m benchmarks.rate_map --rounds 5
"""
import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lab import theory
from jaxopt_lab.theory.rates import _momentum_radius
from benchmarks import machine, write_results

GRID, EIGENVALUES, CORNER = 512, 1000, 16


def problem():
  learning_rates = np.linspace(0, 4, GRID)
  betas = np.linspace(0, 0.999, GRID)
  eigenvalues = np.random.default_rng(0).uniform(0.01, 1.0, EIGENVALUES)
  return learning_rates, betas, eigenvalues


def library(learning_rates, betas, eigenvalues):
  return theory.momentum_rate(learning_rates[:, None], betas[None, :], eigenvalues)


def fused(dtype):
  """Every eigenvalue's radius, max-accumulated into the map one eigenvalue at a time: each
  loop step is one fused pass over the grid, so nothing of size grid x eigenvalues is ever
  stored (written as max over a [grid, grid, eigenvalues] array, XLA:CPU stores it: 2 GB)."""
  @jax.jit
  def rate_map(learning_rates, betas, eigenvalues):
    def one_eigenvalue(i, rate):
      x = learning_rates[:, None] * eigenvalues[i]
      return jnp.maximum(rate, _momentum_radius(x, betas[None, :], jnp))
    start = jnp.zeros((learning_rates.size, betas.size), learning_rates.dtype)
    return jax.lax.fori_loop(0, eigenvalues.size, one_eigenvalue, start)

  def run(learning_rates, betas, eigenvalues):
    with jax.enable_x64(dtype == np.float64):
      args = [jnp.asarray(a, dtype) for a in (learning_rates, betas, eigenvalues)]
      return np.asarray(rate_map(*args))

  return run


def eigvals_corner(learning_rates, betas, eigenvalues):
  """np.linalg.eigvals on the CORNER x CORNER top-left corner of the grid."""
  alpha = learning_rates[:CORNER, None, None]
  beta = betas[None, :CORNER, None]
  lam = eigenvalues[None, None, :]
  alpha, beta, lam = np.broadcast_arrays(alpha, beta, lam)
  matrices = np.stack([np.stack([beta, lam], -1), np.stack([-alpha * beta, 1 - alpha * lam], -1)],
                      -2)
  return np.abs(np.linalg.eigvals(matrices)).max(-1).max(-1)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
  args = parser.parse_args(argv)
  inputs = problem()
  contenders = {"theory.momentum_rate (NumPy f64, extremes)": library,
                "fused, all eigenvalues (XLA f64)": fused(np.float64),
                "fused, all eigenvalues (XLA f32)": fused(np.float32),
                f"numpy eigvals ({CORNER}x{CORNER} corner, scaled)": eigvals_corner}
  results = {name: f(*inputs) for name, f in contenders.items()}  # compile, and keep the maps
  reference = results["theory.momentum_rate (NumPy f64, extremes)"]
  agreement = {name: float(np.abs(value - (reference[:CORNER, :CORNER] if value.shape[0] == CORNER
                                           else reference)).max())
               for name, value in results.items()}
  times = {name: [] for name in contenders}
  for _ in range(args.rounds):
    for name, f in contenders.items():
      start = time.perf_counter()
      f(*inputs)
      times[name].append(time.perf_counter() - start)
  scale = {name: (GRID / CORNER) ** 2 if "corner" in name else 1 for name in contenders}
  rows = [{"contender": name, "seconds": float(np.median(t)) * scale[name],
           "max_abs_difference": agreement[name]} for name, t in times.items()]
  device = machine(jax.devices()[0].device_kind)
  lines = [f"Heavy-ball rate map, {GRID}x{GRID} (alpha, beta) over {EIGENVALUES} eigenvalues, "
           f"{device}; median of {args.rounds} interleaved rounds", "",
           "| contender | seconds | max abs difference from theory.momentum_rate |",
           "|---|---:|---:|"]
  lines += [f"| {r['contender']} | {r['seconds']:.4g} | {r['max_abs_difference']:.2g} |"
            for r in rows]
  write_results(args.out, "rate_map", {"device": device, "grid": GRID,
                                        "eigenvalues": EIGENVALUES, "rounds": args.rounds,
                                        "results": rows}, "\n".join(lines))


if __name__ == "__main__":
  main()
