"""The lecture exercise: gradient descent on f(x) = x^2 and f(x, y) = x^2 + y^2 with learning
rates 0.01, 0.1, 1 and 100.

The gradient is 2w, so each step multiplies w by 1 - 2 lr: 0.98 (slow convergence), 0.8
(fast convergence), -1 (oscillation for ever), -199 (divergence), as `theory.gd_rate(lr, 2)`
predicts. Real runs of `jaxopt_lab.sgd` are drawn on the parabola, in the plane and as
|w_k| against the theory |1 - 2 lr|^k |w_0|. Writes lecture_exercise.png and
lecture_exercise.csv.

  jaxopt-lab lecture-exercise --out results/lecture-exercise
"""
import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import jaxopt_lab as jl
from jaxopt_lab import theory
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.studies._quadratic_runs import iterates

DESCRIPTION = "GD on x^2 and x^2 + y^2 at lr 0.01, 0.1, 1, 100: converge, oscillate, diverge."
LEARNING_RATES = (0.01, 0.1, 1.0, 100.0)
CURVATURE = 2.0  # the Hessian of x^2 (and of x^2 + y^2, in every direction)
STARTS = {"f(x) = x²": [1.0], "f(x, y) = x² + y²": [1.0, 0.5]}


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def predicted_regime(learning_rate: float) -> str:
  """What the multiplier m = 1 - 2 lr says: |m| < 1 converges, |m| = 1 oscillates for ever
  (m = -1), |m| > 1 diverges; m < 0 flips the sign at every step."""
  multiplier = 1 - CURVATURE * learning_rate
  verdict = ("converges" if abs(multiplier) < 1 else
             "oscillates for ever" if abs(multiplier) == 1 else "diverges")
  return verdict + (", flipping sign" if multiplier < 0 else "")


def observed_regime(path: np.ndarray) -> str:
  """The same verdict read off a run [steps + 1, n]: does |w_k| shrink, stay or grow, and does
  w flip sign at every step?"""
  distances = np.linalg.norm(path, axis=-1)
  ratio = distances[-1] / distances[0]
  verdict = ("converges" if ratio < 1 - 1e-9 else
             "diverges" if ratio > 1 + 1e-9 else "oscillates for ever")
  flips = np.all(np.sum(path[1:] * path[:-1], axis=-1) < 0)
  return verdict + (", flipping sign" if flips else "")


def main(args: argparse.Namespace) -> list[Path]:
  steps = 30 if args.quick else 60
  rows, runs = [], {}
  for problem, start in STARTS.items():
    hessian = CURVATURE * np.eye(len(start))
    paths = iterates(jl.sgd, {"learning_rate": LEARNING_RATES}, hessian, start, steps)
    runs[problem] = paths
    for learning_rate, path in zip(LEARNING_RATES, paths):
      distances = np.linalg.norm(path, axis=-1)
      rows.append({"problem": problem, "learning_rate": learning_rate,
                   "multiplier": 1 - CURVATURE * learning_rate,
                   "theory_rate": theory.gd_rate(learning_rate, CURVATURE),
                   "measured_rate": theory.measured_rate(distances),
                   "predicted": predicted_regime(learning_rate),
                   "observed": observed_regime(path), "final_distance": distances[-1],
                   "steps": steps})
  table = pd.DataFrame(rows)
  print(table[["problem", "learning_rate", "theory_rate", "measured_rate", "predicted",
               "observed"]].to_string(index=False))
  out = Path(args.out)
  return [save_table(table, out / "lecture_exercise.csv"),
          save_figure(plot(runs, table), out / "lecture_exercise.png")]


def plot(runs, table):
  fig = plt.figure(figsize=(15, 8.5))
  grid = fig.add_gridspec(2, 4, height_ratios=[1, 1.25])
  colors = dict(zip(LEARNING_RATES, ["tab:blue", "tab:green", "tab:orange", "tab:red"]))
  line = runs["f(x) = x²"][..., 0]
  x = np.linspace(-1.6, 1.6, 200)
  for i, learning_rate in enumerate(LEARNING_RATES):
    ax = fig.add_subplot(grid[0, i])
    path = line[i]
    ax.plot(x, x ** 2, color="0.6")
    inside = np.abs(path) <= 1.6
    ax.plot(path[inside], path[inside] ** 2, "o-", color=colors[learning_rate], ms=4, lw=0.8)
    ax.plot(path[0], path[0] ** 2, "ko", ms=6)
    if not inside.all():
      ax.annotate(f"w_1 = {path[1]:.0f}, w_2 = {path[2]:.3g}: off the plot", (0, 2.2),
                  ha="center", fontsize=8, color=colors[learning_rate])
    ax.set(xlim=(-1.6, 1.6), ylim=(-0.1, 2.6), xlabel="x", ylabel="f(x) = x²",
           title=f"lr = {learning_rate:g}: x ← {1 - CURVATURE * learning_rate:g} x\n"
                 f"{predicted_regime(learning_rate)}")
  plane = fig.add_subplot(grid[1, :2])
  u, v = np.meshgrid(np.linspace(-1.5, 1.5, 200), np.linspace(-1, 1, 200))
  plane.contour(u, v, u ** 2 + v ** 2, levels=12, colors="0.75", linewidths=0.6)
  for learning_rate, path in zip(LEARNING_RATES, runs["f(x, y) = x² + y²"]):
    shown = path[np.all(np.abs(path) <= 1.5, axis=-1)]
    note = (" (leaves the plot after w_0)" if len(shown) < len(path) else
            " (jumps between w_0 and -w_0)" if learning_rate == 1 else "")
    plane.plot(shown[:, 0], shown[:, 1], "o--" if learning_rate == 1 else "o-",
               color=colors[learning_rate], ms=3, lw=0.8, label=f"lr = {learning_rate:g}{note}")
  plane.plot(1.0, 0.5, "ko", ms=6, label="start (1, 0.5)")
  plane.plot(0, 0, "k*", ms=10, label="minimum")
  plane.set(xlim=(-1.5, 1.5), ylim=(-1, 1), aspect="equal", xlabel="x", ylabel="y",
            title="f(x, y) = x² + y²: iterates in the plane")
  plane.legend(loc="lower left", fontsize=8)
  decay = fig.add_subplot(grid[1, 2:])
  for learning_rate, path in zip(LEARNING_RATES, runs["f(x, y) = x² + y²"]):
    distances = np.linalg.norm(path, axis=-1)
    steps = np.arange(len(distances))
    rate = float(theory.gd_rate(learning_rate, CURVATURE))
    measured = table[(table.problem == "f(x, y) = x² + y²") &
                     (table.learning_rate == learning_rate)].measured_rate.iloc[0]
    decay.semilogy(steps, rate ** steps * distances[0], color=colors[learning_rate], lw=1.5,
                   label=f"lr = {learning_rate:g}: theory |1 - 2 lr|^k = {rate:g}^k")
    decay.semilogy(steps, distances, "o", color=colors[learning_rate], ms=3.5, mfc="none",
                   label=f"lr = {learning_rate:g}: run, measured rate {measured:.4g}")
  decay.set(ylim=(1e-7, 1e9), xlabel="step k", ylabel="|w_k - w*|",
            title="Distance to the minimum: theory lines, runs of jaxopt_lab.sgd as circles")
  decay.legend(fontsize=7, ncol=2, loc="lower left")
  fig.suptitle("The lecture exercise: gradient descent w ← w - lr ∇f = (1 - 2 lr) w on "
               "f(x) = x² and f(x, y) = x² + y²")
  fig.tight_layout()
  return fig
