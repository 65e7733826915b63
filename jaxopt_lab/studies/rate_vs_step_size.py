"""Convergence rate against learning rate: gradient descent's V and heavy ball at several beta.

On a rotated quadratic with eigenvalues 0.1..1 (kappa = 10), the theory lines are
`theory.gd_rate` and `theory.momentum_rate`; the dots are rates measured
(`theory.measured_rate`) from real runs of `jaxopt_lab.sgd` and `jaxopt_lab.momentum`.
Writes rate_vs_step_size.png and rate_vs_step_size.csv.

  jaxopt-lab rate-vs-step-size --out results/rate-vs-step-size
"""
import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import jaxopt_lab as jl
from jaxopt_lab import theory
from jaxopt_lab.theory import problems
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.studies._quadratic_runs import distances

DESCRIPTION = "Rate vs learning rate: GD's V and heavy-ball curves, theory lines and measured runs."
EIGENVALUES = np.array([0.1, 0.2, 0.4, 0.7, 1.0])
HIGHEST_RATE = 1.05  # measured points up to slightly divergent runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def betas() -> list[float]:
  """Gradient descent (0), the optimal beta for this spectrum, and two larger ones."""
  return [0.0, round(float(theory.momentum_optimal(EIGENVALUES).beta), 3), 0.6, 0.85]


def measured_points(quick: bool) -> pd.DataFrame:
  """Learning rates along each curve where the rate is between 0.3 and HIGHEST_RATE, each
  measured from a real run started at a random point of the rotated quadratic."""
  problem = problems.quadratic(EIGENVALUES, rotation_seed=0)
  start = np.random.default_rng(1).normal(size=EIGENVALUES.size)
  steps = 800 if quick else 3000
  rows = []
  for beta in betas():
    limit = float(theory.momentum_stability_limit(beta) / EIGENVALUES.max())
    candidates = np.linspace(0.02, 1.1 * limit, 400)
    rate = theory.momentum_rate(candidates, beta, EIGENVALUES)
    usable = candidates[(rate > 0.3) & (rate < HIGHEST_RATE) & (rate < 1 - 12 / steps) |
                        (rate > 1) & (rate < HIGHEST_RATE)]
    for learning_rate in usable[np.linspace(0, usable.size - 1, 6 if quick else 13).astype(int)]:
      rows.append({"optimizer": "sgd" if beta == 0 else "momentum", "beta": beta,
                   "learning_rate": learning_rate})
  table = pd.DataFrame(rows)
  errors = np.empty((len(table), steps + 1))
  plain = (table.optimizer == "sgd").to_numpy()
  errors[plain] = distances(jl.sgd, {"learning_rate": table.learning_rate[plain]},
                            problem.hessian, start, steps)
  errors[~plain] = distances(jl.momentum, {"learning_rate": table.learning_rate[~plain],
                                           "beta": table.beta[~plain]},
                             problem.hessian, start, steps)
  table["theory_rate"] = theory.momentum_rate(table.learning_rate, table.beta, EIGENVALUES)
  table["measured_rate"] = [theory.measured_rate(e) for e in errors]
  table["relative_error"] = table.measured_rate / table.theory_rate - 1
  table["steps"] = steps
  return table


def main(args: argparse.Namespace) -> list[Path]:
  table = measured_points(args.quick)
  worst = table.relative_error.abs().max()
  print(f"{len(table)} runs; measured rates within {100 * worst:.2g}% of theory")
  out = Path(args.out)
  return [save_table(table, out / "rate_vs_step_size.csv"),
          save_figure(plot(table), out / "rate_vs_step_size.png")]


def plot(table: pd.DataFrame):
  fig, ax = plt.subplots(figsize=(9, 5.8), layout="constrained")
  low, high = EIGENVALUES.min(), EIGENVALUES.max()
  learning_rates = np.linspace(0, 2 * (1 + max(betas())) / high * 1.05, 1500)
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(betas())))
  optimum = theory.momentum_optimal(EIGENVALUES)
  for beta, color in zip(betas(), colors):
    rate = theory.momentum_rate(learning_rates, beta, EIGENVALUES)
    name = ("gradient descent (β = 0)" if beta == 0 else
            f"heavy ball β = {beta:g}" + (" (β*)" if beta == round(optimum.beta, 3) else ""))
    color = color if beta else "black"
    width = 2 if beta == 0 else 1.5
    ax.plot(learning_rates, rate, color=color, lw=width)
    points = table[table.beta == beta]
    ax.plot(points.learning_rate, points.measured_rate, "o", color=color, mec="white", ms=6)
    ax.plot([], [], "-o", color=color, lw=width, mec="white", ms=6, label=name)  # the key only
  best = theory.gd_optimal(EIGENVALUES)
  ax.axvline(best.learning_rate, color="black", ls=":", lw=1)
  ax.annotate(f"GD optimum 2/(μ+L) = {best.learning_rate:.3g}\n"
              f"ρ = (κ-1)/(κ+1) = {best.rate:.3f}",
              (best.learning_rate, best.rate), xytext=(best.learning_rate + 0.25, 0.84),
              arrowprops=dict(arrowstyle="->"), fontsize=9)
  ax.plot(optimum.learning_rate, optimum.rate, "*", color="tab:red", ms=14, mec="black",
          label=f"heavy-ball optimum α* = {optimum.learning_rate:.3g}, β* = {optimum.beta:.3g},"
                f"\nρ = (√κ-1)/(√κ+1) = {optimum.rate:.3f}")
  ax.axhspan(1, 1.2, color="0.85", zorder=0)
  ax.text(learning_rates[-1] * 0.98, 1.1, "diverges (ρ > 1)", ha="right", va="center")
  margin = 0.015 * learning_rates[-1]  # measured dots near α = 0 stay whole
  ax.set(xlim=(-margin, learning_rates[-1]), ylim=(0, 1.2), xlabel="learning rate α",
         ylabel="convergence rate ρ  (|w_k - w*| ~ ρ^k)",
         title=f"Convergence rate vs learning rate on a quadratic with eigenvalues "
               f"{low:g}..{high:g} (κ = {high / low:g})\nlines: theory; dots: rates measured "
               "from runs of jaxopt_lab.sgd and jaxopt_lab.momentum")
  ax.legend(loc="lower right", fontsize=9)
  return fig
