"""Heavy ball's convergence-rate map over (alpha lambda, beta), after Goh's "Why Momentum
Really Works" (Distill 2017), with real runs of the five regimes at lambda = 100.

The map is `theory.plots.draw_momentum_rate_map` with one eigenvalue: x = alpha lambda in
[0, 4], beta in [0, 1], divergence hatched, the complex band's edges (critical damping) and
the divergence line. Each inset is a run of `jaxopt_lab.momentum` on f(w) = 50 w^2 with the
theory envelope +-rho^k. Writes momentum_map.png and momentum_map_regimes.csv.

  jaxopt-lab momentum-map --out results/momentum-map
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
from jaxopt_lab.theory.plots import draw_momentum_rate_map

DESCRIPTION = "The (alpha lambda, beta) rate map of heavy ball with its regimes and inset runs."
EIGENVALUE = 100.0
REGIMES = [  # (name, learning rate, beta) at lambda = 100, as in the Distill figure
    ("ripples", 0.0015, 0.9),
    ("monotonic", 0.0015, 0.125),
    ("one step", 0.01, 1e-5),
    ("oscillations", 0.02, 0.05),
    ("divergence", 0.025, 0.235)]
INSET_STEPS = 40
MEASURE_STEPS = 400


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def regime_runs() -> tuple[pd.DataFrame, np.ndarray]:
  """Each regime's theory rate, the rate measured over MEASURE_STEPS, and its first iterates."""
  table = pd.DataFrame(REGIMES, columns=["regime", "learning_rate", "beta"])
  table["scaled_step"] = table.learning_rate * EIGENVALUE
  table["theory_rate"] = theory.momentum_rate(table.learning_rate, table.beta, EIGENVALUE)
  paths = iterates(jl.momentum, {"learning_rate": table.learning_rate, "beta": table.beta},
                   [[EIGENVALUE]], [1.0], MEASURE_STEPS)[..., 0]
  measured = []
  for path in paths:
    try:
      measured.append(theory.measured_rate(np.abs(path)))
    except ValueError:  # one step: the error is 0 (to rounding) after the first step
      measured.append(np.nan)
  table["measured_rate"] = measured
  return table, paths[:, :INSET_STEPS + 1]


def main(args: argparse.Namespace) -> list[Path]:
  grid = 200 if args.quick else 600
  table, paths = regime_runs()
  print(table.to_string(index=False))
  out = Path(args.out)
  return [save_table(table, out / "momentum_map_regimes.csv"),
          save_figure(plot(table, paths, grid), out / "momentum_map.png")]


def plot(table: pd.DataFrame, paths: np.ndarray, grid: int):
  fig = plt.figure(figsize=(15, 8.4), layout="constrained")
  left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1], wspace=0.02)
  ax = left.subplots()
  draw_momentum_rate_map(ax, np.linspace(0, 4, grid), np.linspace(0, 1, grid), 1.0)
  ax.set_xlabel("αλ (learning rate × eigenvalue)")
  box = dict(boxstyle="round", fc="white", alpha=0.9)
  ax.text(1.5, 0.66, "ripples\n(complex roots, ρ = √β)", ha="center", fontsize=10,
          weight="bold", bbox=box)
  ax.text(3.3, 0.45, "divergence", ha="center", fontsize=10, weight="bold", bbox=box)
  for text, tip, where in [("monotonic decrease\n(real roots > 0)", (0.2, 0.2), (0.75, 0.38)),
                           ("oscillations\n(real roots < 0)", (2.1, 0.1), (3.05, 0.2))]:
    ax.annotate(text, tip, xytext=where, ha="center", fontsize=9, bbox=box,
                arrowprops=dict(arrowstyle="->"))
  letters = "ABCDE"
  for letter, row in zip(letters, table.itertuples()):  # C sits on beta = 0: drawn unclipped
    ax.plot(row.scaled_step, row.beta, "o", ms=9, mfc="white", mec="black", clip_on=False,
            zorder=5)
    ax.annotate(letter, (row.scaled_step, row.beta), xytext=(6, 5), textcoords="offset points",
                weight="bold", fontsize=10, bbox=dict(boxstyle="square,pad=0.1", fc="white"))
  ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=9)
  ax.set_title("Heavy ball's rate ρ(αλ, β) on one eigendirection; hatched grey: diverges\n"
               "A-E: the runs on the right")
  steps = np.arange(paths.shape[1])
  insets = right.subplots(3, 2)
  for inset, letter, row, path in zip(insets.flat, letters, table.itertuples(), paths):
    envelope = row.theory_rate ** steps
    inset.fill_between(steps, -envelope, envelope, color="tab:blue", alpha=0.15,
                       label="±ρ^k, the theory's envelope")
    inset.plot(steps, path, ".-", color="black", lw=0.8, ms=3, label="w_k, run of momentum")
    inset.axhline(0, color="0.5", lw=0.5)
    limit = min(np.abs(path).max(), 5.0) * 1.1
    inset.set(ylim=(-limit, limit), xlim=(-1, steps[-1] + 1), xlabel="step k", ylabel="w_k")
    measured = "one step: w_1 = 0" if np.isnan(row.measured_rate) else \
        f"measured {row.measured_rate:.3f}"
    inset.set_title(f"{letter}: {row.regime}, α = {row.learning_rate:g}, β = {row.beta:g}\n"
                    f"ρ = {row.theory_rate:.3f}; {measured}", fontsize=9)
  key = insets.flat[-1]
  key.axis("off")
  key.legend(*insets.flat[0].get_legend_handles_labels(), loc="center", fontsize=9,
             title="in each panel")
  right.suptitle(f"Runs of jaxopt_lab.momentum on f(w) = λw²/2, λ = {EIGENVALUE:g}, w_0 = 1",
                 fontsize=11)
  return fig
