"""Optimal rates against the condition number kappa (1 to 1e4): gradient descent, heavy ball,
Nesterov (standard and Lessard-Recht-Packard tunings) and the first-order lower bound.

Lines are the closed forms of `jaxopt_lab.theory`; dots are rates measured from real runs of
`jaxopt_lab.sgd`, `momentum` and `nesterov`, each at its tuning, on rotated quadratics with
eigenvalues spread geometrically over [1/kappa, 1]. Writes rates_vs_condition.png and
rates_vs_condition.csv.

  jaxopt-lab rates-vs-condition --out results/rates-vs-condition
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

DESCRIPTION = "Optimal rates vs condition number: GD, heavy ball, Nesterov (two tunings), bound."
DIMENSION = 6
MOST_STEPS = 20000
# name, factory, tuning, colour
METHODS = [
    ("gradient descent, α = 2/(μ+L)", jl.sgd, theory.gd_optimal, "tab:blue"),
    ("heavy ball at (α*, β*)", jl.momentum, theory.momentum_optimal, "tab:red"),
    ("Nesterov, α = 1/L, β = (√κ-1)/(√κ+1)", jl.nesterov, theory.nesterov_standard,
     "tab:green"),
    ("Nesterov, Lessard-Recht-Packard tuning", jl.nesterov, theory.nesterov_optimal,
     "tab:purple")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def spectra(kappas: np.ndarray) -> np.ndarray:
  """[len(kappas), DIMENSION] eigenvalues spread geometrically over [1/kappa, 1]."""
  return np.geomspace(1 / kappas, np.ones_like(kappas), DIMENSION, axis=-1)


def measured_points(kappas: np.ndarray) -> pd.DataFrame:
  """Each method at its tuning on each kappa's quadratic, measured over enough steps for its
  rate (40 e-foldings, at most MOST_STEPS)."""
  eigenvalues = spectra(kappas)
  hessians = np.stack([problems.quadratic(e, rotation_seed=i).hessian
                       for i, e in enumerate(eigenvalues)])
  start = np.random.default_rng(0).normal(size=DIMENSION)
  rows = []
  for name, factory, tune, _ in METHODS:
    tuning = tune(eigenvalues)
    steps = int(min(MOST_STEPS, 40 / np.min(-np.log(tuning.rate))))
    hyper = {"learning_rate": tuning.learning_rate}
    if factory is not jl.sgd:
      hyper["beta"] = tuning.beta
    errors = distances(factory, hyper, hessians, start, steps)
    for kappa, lr, beta, rate, error in zip(kappas, tuning.learning_rate, tuning.beta,
                                            tuning.rate, errors):
      rows.append({"method": name, "kappa": kappa, "learning_rate": lr, "beta": beta,
                   "theory_rate": rate, "measured_rate": theory.measured_rate(error),
                   "steps": steps})
  table = pd.DataFrame(rows)
  table["lower_bound"] = theory.first_order_lower_bound(spectra(table.kappa.to_numpy()))
  table["relative_error"] = table.measured_rate / table.theory_rate - 1
  return table


def main(args: argparse.Namespace) -> list[Path]:
  kappas = np.array([3.0, 30.0, 300.0]) if args.quick else np.geomspace(2, 1e4, 9)
  table = measured_points(kappas)
  print(f"{len(table)} runs; measured rates within "
        f"{100 * table.relative_error.abs().max():.2g}% of theory")
  out = Path(args.out)
  return [save_table(table, out / "rates_vs_condition.csv"),
          save_figure(plot(table), out / "rates_vs_condition.png")]


def steps_per_decade(rate):
  """Steps that cut the error tenfold: -1 / log10(rate) (0 for one-step convergence)."""
  with np.errstate(divide="ignore"):
    return -1 / np.log10(rate)


def plot(table: pd.DataFrame):
  kappas = np.geomspace(1, 1e4, 400)
  extremes = np.stack([np.ones_like(kappas) / kappas, np.ones_like(kappas)], -1)
  fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
  bound = theory.first_order_lower_bound(extremes)
  for ax, transform in [(left, lambda r: r), (right, steps_per_decade)]:
    ax.plot(kappas, transform(bound), color="0.6", lw=6, alpha=0.5,
            label="first-order lower bound (√κ-1)/(√κ+1), reached by heavy ball")
    for name, _, tune, color in METHODS:
      ax.plot(kappas, transform(tune(extremes).rate), color=color, lw=1.5)
      points = table[table.method == name]
      ax.plot(points.kappa, transform(points.measured_rate), "o", color=color, mec="black",
              ms=6)
      ax.plot([], [], "-o", color=color, lw=1.5, mec="black", ms=6, label=name)  # the key only
    ax.set_xscale("log")
    ax.set_xlabel("condition number κ = L/μ")
  left.set(ylabel="convergence rate ρ at the tuning", ylim=(0, 1.02),
           title="Optimal rates on quadratics (Newton, α = 1: ρ = 0 for every κ)")
  right.set_yscale("log")
  right.set(ylabel="steps per tenfold error reduction, -1/log10 ρ", ylim=(0.5, None),
            title="Cost in steps: κ for gradient descent, √κ with momentum (colours as left)")
  left.legend(loc="lower right", title="line: theory; dots: measured from jaxopt_lab runs",
              fontsize=9, title_fontsize=9)
  fig.suptitle(f"Each method at its tuning; dots: runs on rotated quadratics with {DIMENSION} "
               "eigenvalues spread geometrically over [1/κ, 1], rate measured from |w_k - w*|")
  fig.tight_layout()
  return fig
