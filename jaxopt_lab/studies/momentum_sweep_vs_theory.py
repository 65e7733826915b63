"""A momentum sweep over (learning rate, beta) on a quadratic, drawn over the theory's rate map.

Every grid point is a real run of `jaxopt_lab.momentum` on f(w) = 1/2 sum_i lambda_i w_i^2
(eigenvalues geometric in [1/kappa, 1], a random start per seed), all of them one vmapped
program (`run_sweep`). Each run's rate is measured from its errors |w_k - w*| = |w_k|
(`theory.measured_rate`), and the sweep chooses the configuration whose runs converge fastest
(in float32 the best final losses all underflow to 0 within a few hundred steps, so the
measured rate is what tells them apart). The figure puts the sweep on `theory.momentum_rate`'s map: the chosen
configuration should sit at the theory's optimum (Polyak's alpha*, beta*), and every measured
rate on its theory value. Writes sweep_vs_theory.png and sweep_vs_theory.csv.

  jaxopt-lab momentum-sweep-vs-theory --out results/momentum-sweep-vs-theory
"""
import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from jaxopt_lab import theory
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.sweeps.engine import run_sweep
from jaxopt_lab.sweeps.tasks import quadratic_task
from jaxopt_lab.theory.plots import draw_momentum_rate_map
from jaxopt_lab.studies import KAPPA_MAX, check_option

DESCRIPTION = "A momentum (learning rate, beta) sweep on a quadratic over the theory's rate map."


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--condition-number", type=float, default=100.0,
                      help="the quadratic's lambda_max / lambda_min")
  parser.add_argument("--grid", type=int, default=48,
                      help="points per axis of the (learning rate, beta) grid")
  parser.add_argument("--steps", type=int, default=300, help="steps of each run")
  parser.add_argument("--seeds", type=int, default=2,
                      help="seeds (starting points) per configuration")


def measured_rates(distances: np.ndarray) -> np.ndarray:
  """Each run's rate from its errors |w_k - w*| = |w_k| (float32, w* = 0, so the floor is the
  float32 norm's: 1000 sqrt(tiny) = 1.1e-16); NaN where it cannot be measured (diverged at once,
  or reached the floor in under 8 steps)."""
  rates = np.full(len(distances), np.nan)
  for row, errors in enumerate(distances):
    try:
      rates[row] = theory.measured_rate(errors, minimizer_norm=0.0)
    except ValueError:
      pass
  return rates


def main(args: argparse.Namespace) -> list[Path]:
  check_option("--condition-number", args.condition_number, 1 + 1e-9, KAPPA_MAX,
               " (1 / kappa is a float32 eigenvalue)")
  check_option("--grid", args.grid, 3, 2000)
  check_option("--steps", args.steps, 1, 2 ** 31 - 1)
  check_option("--seeds", args.seeds, 1, 10000)
  grid, steps = (12, 100) if args.quick else (args.grid, args.steps)
  eigenvalues = np.geomspace(1 / args.condition_number, 1.0, 20)
  optimum = theory.momentum_optimal(eigenvalues)
  rates = np.linspace(0.02, 1.4 * optimum.learning_rate, grid)
  betas = np.linspace(0.0, 0.95, grid)
  alpha, beta = (a.ravel() for a in np.meshgrid(rates, betas))
  task = quadratic_task("momentum", eigenvalues, steps=steps)
  result = run_sweep(task.run, {"learning_rate": alpha, "beta": beta},
                     seeds=list(range(args.seeds)), objective=task.objective,
                     progress=not args.quick)
  table = result.table
  table["measured_rate"] = measured_rates(result.curves["distance"])
  table["theory_rate"] = theory.momentum_rate(table.learning_rate.to_numpy(),
                                              table.beta.to_numpy(), eigenvalues)
  by_config = table.groupby("config").agg(
      learning_rate=("learning_rate", "first"), beta=("beta", "first"),
      final_loss=("final_train_loss", "mean"), measured_rate=("measured_rate", "mean"),
      theory_rate=("theory_rate", "first"), diverged=("diverged", "any"))
  usable = by_config[~by_config.diverged & np.isfinite(by_config.measured_rate)]
  chosen = usable.loc[usable.measured_rate.idxmin()]
  agree = table[np.isfinite(table.measured_rate) & (table.theory_rate < 0.995)]
  error = np.abs(agree.measured_rate / agree.theory_rate - 1)
  print(f"theory optimum: learning_rate {optimum.learning_rate:.4g}, beta {optimum.beta:.4g}, "
        f"rate {optimum.rate:.4g}")
  print(f"sweep's choice: learning_rate {chosen.learning_rate:.4g}, beta {chosen.beta:.4g}, "
        f"theory rate there {chosen.theory_rate:.4g}, measured {chosen.measured_rate:.4g}")
  print(f"measured vs theory rate over {len(agree)} converging runs: median relative error "
        f"{np.median(error):.2%}, 95th percentile {np.quantile(error, 0.95):.2%}")
  out = Path(args.out)
  figure = plot(rates, betas, eigenvalues, by_config, chosen, optimum, agree, steps)
  return [save_table(table.drop(columns=["config"]), out / "sweep_vs_theory.csv"),
          save_figure(figure, out / "sweep_vs_theory.png")]


def plot(rates, betas, eigenvalues, by_config, chosen, optimum, agree, steps):
  fig, axes = plt.subplots(1, 3, figsize=(17, 7), layout="constrained",
                           gridspec_kw={"width_ratios": [1, 1, 0.85]})
  low = round(optimum.rate - 0.08, 1)  # the colours span the rates that occur
  fine = 400  # the closed form, drawn finer than the sweep's grid, over the same ranges
  draw_momentum_rate_map(axes[0], np.linspace(rates[0], rates[-1], fine),
                         np.linspace(betas[0], betas[-1], fine), eigenvalues, colorbar=False,
                         vmin=low, levels=(0.75, 0.8, 0.85, 0.9, 0.95, 0.98))
  axes[0].set_title(f"Theory: heavy ball's rate ρ(α, β) on κ = "
                    f"{eigenvalues.max() / eigenvalues.min():g}; hatched grey: diverges")
  measured = by_config.measured_rate.to_numpy().reshape(len(betas), len(rates))
  mesh = axes[1].pcolormesh(rates, betas, np.where(measured < 1, measured, np.nan),
                            cmap="viridis", vmin=low, vmax=1, shading="auto", rasterized=True)
  top = by_config[~by_config.diverged].nsmallest(max(3, len(by_config) // 100), "measured_rate")
  for ax in axes[:2]:
    ax.plot(top.learning_rate, top.beta, "o", ms=6, mfc="none", mec="red", mew=1.2,
            label=f"sweep: fastest 1% of {len(by_config)} configurations")
    ax.plot(chosen.learning_rate, chosen.beta, "X", ms=12, color="red", mec="white",
            label=f"sweep's choice α = {chosen.learning_rate:.3g}, β = {chosen.beta:.3g}")
  limit = theory.momentum_stability_limit(betas) / eigenvalues.max()
  axes[1].plot(limit, betas, "k--", lw=1.6, label="theory: divergence beyond αλ_max = 2 + 2β")
  axes[1].plot(optimum.learning_rate, optimum.beta, "*", ms=15, color="white", mec="black",
               label=f"theory's optimum α* = {optimum.learning_rate:.3g}, "
                     f"β* = {optimum.beta:.3g}")
  axes[1].set(xlim=(rates[0], rates[-1]), ylim=(betas[0], betas[-1]), xlabel="learning rate α",
              ylabel="momentum β",
              title=f"Measured: each run's rate over {steps} steps (white: diverged)")
  axes[1].grid(False)
  fig.colorbar(mesh, ax=axes[:2], label="convergence rate ρ: theory (left), measured (right)",
               shrink=0.9)
  for ax in axes[:2]:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, fontsize=10)
  axes[2].plot(agree.theory_rate, agree.measured_rate, ".", ms=4, alpha=0.5,
               label=f"{len(agree)} runs that converge")
  axes[2].plot([0, 1], [0, 1], "k-", lw=0.8, label="measured = theory")
  axes[2].axvline(optimum.rate, color="tab:green", ls=":", label=f"optimal rate {optimum.rate:.3f}")
  axes[2].set(xlim=(low, 1), ylim=(low, 1), aspect="equal", xlabel="theory rate ρ(α, β)",
              ylabel="measured rate (fit to |w_k - w*|)",
              title="Every run's measured rate against theory")
  axes[2].legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=10)
  return fig
