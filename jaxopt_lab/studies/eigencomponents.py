"""The error split into eigencomponents (lambda = 0.01, 0.1, 1), after Distill's "Why
Momentum Really Works": gradient descent at its optimal step 2/(mu + L) = 200/101 against
heavy ball at its optimum (alpha* = 3.3058, beta* = 0.6694).

Real runs of `jaxopt_lab.sgd` and `jaxopt_lab.momentum` on a rotated quadratic are projected
on its eigenvectors; the theory is the per-eigenvalue iteration matrix raised to the power k.
Writes eigencomponents.png and eigencomponents.csv.

  jaxopt-lab eigencomponents --out results/eigencomponents
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
from jaxopt_lab.studies._quadratic_runs import iterates

DESCRIPTION = "Error by eigencomponent (lambda = 0.01, 0.1, 1): GD and heavy ball at their optima."
EIGENVALUES = np.array([0.01, 0.1, 1.0])


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def methods():
  """(name, factory, hyperparameters, tuning) of the two runs."""
  gd, heavy = theory.gd_optimal(EIGENVALUES), theory.momentum_optimal(EIGENVALUES)
  return [("gradient descent", jl.sgd, {"learning_rate": gd.learning_rate}, gd),
          ("heavy ball", jl.momentum, {"learning_rate": heavy.learning_rate,
                                       "beta": heavy.beta}, heavy)]


def predicted_components(tuning: theory.Tuning, steps: int) -> np.ndarray:
  """[steps + 1, 3]: the weight on each eigenvector, from M^k applied to (v, w) = (0, 1),
  M = [[beta, lambda], [-alpha beta, 1 - alpha lambda]] (beta = 0 is gradient descent)."""
  alpha, beta = tuning.learning_rate, tuning.beta
  columns = []
  for eigenvalue in EIGENVALUES:
    matrix = np.array([[beta, eigenvalue], [-alpha * beta, 1 - alpha * eigenvalue]])
    state, column = np.array([0.0, 1.0]), [1.0]
    for _ in range(steps):
      state = matrix @ state
      column.append(state[1])
    columns.append(column)
  return np.array(columns).T


def main(args: argparse.Namespace) -> list[Path]:
  steps = 100 if args.quick else 150
  problem = problems.quadratic(EIGENVALUES, rotation_seed=4)
  eigenvalues, eigenvectors = np.linalg.eigh(problem.hessian)  # ascending, as EIGENVALUES
  start = eigenvectors @ np.ones(EIGENVALUES.size)  # weight 1 on every eigenvector
  rows, curves = [], {}
  for name, factory, hyper, tuning in methods():
    measured = iterates(factory, hyper, problem.hessian, start, steps)[0] @ eigenvectors
    predicted = predicted_components(tuning, steps)
    curves[name] = measured, predicted, tuning
    for i, eigenvalue in enumerate(eigenvalues):
      rows.append(pd.DataFrame({
          "method": name, "eigenvalue": round(eigenvalue, 12), "step": np.arange(steps + 1),
          "measured_component": measured[:, i], "predicted_component": predicted[:, i],
          "component_rate": theory.momentum_rate(tuning.learning_rate, tuning.beta, eigenvalue)}))
  table = pd.concat(rows, ignore_index=True)
  gap = np.abs(table.measured_component - table.predicted_component).max()
  print(f"largest gap between run and theory over all components and steps: {gap:.2g}")
  out = Path(args.out)
  return [save_table(table, out / "eigencomponents.csv"),
          save_figure(plot(curves), out / "eigencomponents.png")]


def plot(curves):
  fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), sharex=True)
  colors = ["tab:blue", "tab:orange", "tab:green"]
  styles = ["-", "-", "--"]  # lambda = 1 dashed: gradient descent gives it lambda = 0.01's rate
  for column, (name, (measured, predicted, tuning)) in zip(axes.T, curves.items()):
    steps = np.arange(measured.shape[0])
    column[0].stackplot(steps, (measured ** 2).T, colors=colors, alpha=0.8,
                        labels=[f"λ = {e:g}" for e in EIGENVALUES])
    column[0].set(ylabel="|w_k - w*|², stacked by eigencomponent c_k²",
                  ylim=(0, (measured ** 2).sum(1).max() * 1.05))
    column[0].legend(title="eigencomponent", loc="upper right")
    hyper = (f"α = 2/(λ_min + λ_max) = {tuning.learning_rate:.4g}" if tuning.beta == 0 else
             f"α* = {tuning.learning_rate:.4f}, β* = {tuning.beta:.4f}")
    column[0].set_title(f"{name}, {hyper}: rate {tuning.rate:.4f}")
    for i, (eigenvalue, color, style) in enumerate(zip(EIGENVALUES, colors, styles)):
      rate = theory.momentum_rate(tuning.learning_rate, tuning.beta, eigenvalue)
      column[1].semilogy(steps, np.abs(predicted[:, i]), style, color=color, lw=1.5,
                         label=f"λ = {eigenvalue:g}: theory (M^k), rate {rate:.3f}")
      column[1].semilogy(steps[i::3], np.abs(measured[i::3, i]), "os^"[i], color=color, ms=4,
                         mfc="none")
    column[1].plot([], [], "ko", mfc="none", ms=4, label="run of jaxopt_lab (every 3rd step)")
    column[1].set(xlabel="step k", ylabel="|c_k|, weight on the eigenvector",
                  ylim=(1e-14, 10))
    column[1].legend(loc="lower left")
  fig.suptitle("Error by eigencomponent on f = ½ wᵀAw with eigenvalues 0.01, 0.1, 1 (start: "
               "weight 1 on each)\ngradient descent is held back by both ends of the spectrum "
               "at 0.98; heavy ball moves every component at √β* = 0.818")
  fig.tight_layout()
  return fig
