"""The lecture exercise: gradient descent on f(x) = x^2 and f(x, y) = x^2 + y^2 with learning
rates 0.01, 0.1, 1 and 100.

The gradient is 2w, so each step multiplies w by 1 - 2 lr: 0.98 (slow convergence), 0.8
(fast convergence), -1 (oscillation for ever), -199 (divergence), as `theory.gd_rate(lr, 2)`
predicts. Real runs of `jaxopt_lab.sgd` are drawn on the parabola, in the plane and as
|w_k| against the theory |1 - 2 lr|^k |w_0|. In the plane each learning rate starts from its
own point on the circle |w_0| = sqrt(1.25) (f is isotropic, so every distance and rate is the
same as from (1, 0.5)), so that the four paths stay apart. Writes lecture_exercise.png and
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
STARTS = {  # one start per learning rate: in the plane, four points on the circle |w| = √1.25
    "f(x) = x²": [[1.0]] * len(LEARNING_RATES),  # so that the four paths stay apart
    "f(x, y) = x² + y²": [[1.0, 0.5], [-1.0, 0.5], [0.5, 1.0], [0.5, -1.0]]}


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
    hessian = CURVATURE * np.eye(len(start[0]))
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
  fig = plt.figure(figsize=(15, 9), layout="constrained")
  grid = fig.add_gridspec(2, 4, height_ratios=[1, 1.3])
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
      ax.annotate(f"w_1 = {path[1]:.0f}, w_2 = {path[2]:.3g}:\noff the plot", (0, 2.1),
                  ha="center", fontsize=9, color=colors[learning_rate])
    ax.set(xlim=(-1.6, 1.6), ylim=(-0.1, 2.6), xlabel="x", ylabel="f(x) = x²",
           title=f"lr = {learning_rate:g}: x ← {1 - CURVATURE * learning_rate:g} x\n"
                 f"{predicted_regime(learning_rate)}")
  plane = fig.add_subplot(grid[1, :2])
  u, v = np.meshgrid(np.linspace(-1.5, 1.5, 200), np.linspace(-1.25, 1.25, 200))
  plane.contour(u, v, u ** 2 + v ** 2, levels=12, colors="0.8", linewidths=0.6)
  for learning_rate, path in zip(LEARNING_RATES, runs["f(x, y) = x² + y²"]):
    color, start = colors[learning_rate], path[0]
    shown = path[np.all(np.abs(path) <= 1.25, axis=-1)]
    plane.plot(shown[:, 0], shown[:, 1], "o--" if learning_rate == 1 else "o-", color=color,
               ms=3, lw=0.8)
    outward = start / np.linalg.norm(start)
    words = f"lr = {learning_rate:g}" + (": w_0 ↔ -w_0" if learning_rate == 1 else "")
    if len(shown) < len(path):  # the first step leaves the plot: an arrow toward w_1
      edge = path[1] / np.max(np.abs(path[1]) / [1.5, 1.25])
      plane.annotate("", edge, xytext=start, arrowprops=dict(arrowstyle="->", color=color))
      words += f": w_1 = ({path[1][0]:.4g}, {path[1][1]:.4g}), off the plot"
    plane.annotate(words, start, xytext=24 * outward, textcoords="offset points", ha="center",
                   va="center", fontsize=9, bbox=dict(boxstyle="round", fc="white", ec=color))
  plane.plot(0, 0, "k*", ms=10)
  plane.annotate("minimum", (0, 0), xytext=(8, -12), textcoords="offset points", fontsize=9)
  plane.set(xlim=(-1.5, 1.5), ylim=(-1.25, 1.25), aspect="equal", xlabel="x", ylabel="y",
            title=f"f(x, y) = x² + y²: iterates in the plane, {len(path) - 1} steps from four "
                  "starts\non the circle |w_0| = √1.25 (the rates do not depend on the direction)")
  decay = fig.add_subplot(grid[1, 2:])
  for learning_rate, path in zip(LEARNING_RATES, runs["f(x, y) = x² + y²"]):
    color = colors[learning_rate]
    distances = np.linalg.norm(path, axis=-1)
    steps = np.arange(len(distances))
    rate = float(theory.gd_rate(learning_rate, CURVATURE))
    measured = table[(table.problem == "f(x, y) = x² + y²") &
                     (table.learning_rate == learning_rate)].measured_rate.iloc[0]
    decay.semilogy(steps, rate ** steps * distances[0], color=color, lw=1.5)
    decay.semilogy(steps, distances, "o", color=color, ms=3.5, mfc="none")
    decay.plot([], [], "-o", color=color, lw=1.5, ms=3.5, mfc="none",  # the key only
               label=f"lr = {learning_rate:g}: theory {rate:g}^k; run measured {measured:.4g}")
  decay.set(ylim=(1e-8, 1e9), xlim=(-1.5, steps[-1] + 1.5), xlabel="step k",
            ylabel="|w_k - w*|",
            title="Distance to the minimum: lines |1 - 2 lr|^k |w_0| (theory), circles: runs "
                  "of jaxopt_lab.sgd")
  decay.legend(fontsize=9, loc="lower left")
  fig.suptitle("The lecture exercise: gradient descent w ← w - lr ∇f = (1 - 2 lr) w on "
               "f(x) = x² and f(x, y) = x² + y²")
  return fig
