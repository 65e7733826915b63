"""Drawing the theory: heavy ball's convergence-rate map over (learning rate, beta).

Draws into an Axes you own, so other figures (a sweep's measured runs) can be laid on top:

  fig, ax = plt.subplots()
  draw_momentum_rate_map(ax, np.linspace(0, 4, 512), np.linspace(0, 1, 512), [0.01, 0.1, 1.0])
  ax.scatter(sweep.learning_rate, sweep.beta, c="red")   # e.g. a sweep's configurations
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects

from jaxopt_lab import theory

RATE_LEVELS = (0.25, 0.5, 0.75, 0.9, 0.97)  # contours drawn over the colours
DIVERGED = "0.82"  # the grey of the divergent region


def draw_momentum_rate_map(ax: plt.Axes, learning_rates, betas, eigenvalues=1.0, *,
                           boundaries: bool = True, colorbar: bool = True, vmin: float = 0.0,
                           levels=RATE_LEVELS):
  """Colours the heavy-ball rate `theory.momentum_rate(lr, beta, eigenvalues)` over the grid
  learning_rates x betas (1-D, increasing) from `vmin` (dark) to 1 (yellow), hatches the
  divergent region (rate >= 1, grey) and draws the rate contours `levels` that lie in
  (vmin, 1), labelled in black on a white halo so they read on every colour; with
  `boundaries`, the regime edges for the spectrum's extremes (labelled for a legend):

    lr lambda_min = (1 - sqrt(beta))^2   critical damping, beta = (1 - sqrt(lr lambda))^2
    lr lambda_max = (1 + sqrt(beta))^2   the other edge of the complex band (root -sqrt(beta))
    lr lambda_max = 2 (1 + beta)         divergence beyond
  and a star at `theory.momentum_optimal`. With one eigenvalue 1 the x axis is lr lambda.
  Returns the colour mesh.
  """
  learning_rates, betas = np.asarray(learning_rates, float), np.asarray(betas, float)
  rate = theory.momentum_rate(learning_rates[None, :], betas[:, None], eigenvalues)
  colours = plt.get_cmap("viridis").with_extremes(bad=DIVERGED)  # coarse grids: no white steps
  mesh = ax.pcolormesh(learning_rates, betas, np.where(rate < 1, rate, np.nan), cmap=colours,
                       vmin=vmin, vmax=1, shading="auto", rasterized=True)
  ax.contourf(learning_rates, betas, rate, levels=[1, np.inf], colors=[DIVERGED], hatches=["//"])
  shown = [level for level in levels if vmin < level < 1]
  if shown:
    contours = ax.contour(learning_rates, betas, rate, levels=shown, colors="black",
                          linewidths=0.7, alpha=0.45)
    _label_contours(ax, contours, learning_rates, betas, eigenvalues)
  if boundaries:
    _draw_boundaries(ax, betas, eigenvalues)
  ax.set(xlim=(learning_rates[0], learning_rates[-1]), ylim=(betas[0], betas[-1]),
         xlabel="learning rate α", ylabel="momentum β")
  ax.grid(False)
  if colorbar:
    ax.figure.colorbar(mesh, ax=ax, label="convergence rate ρ (hatched grey: diverges, ρ ≥ 1)")
  return mesh


def _label_contours(ax, contours, learning_rates, betas, eigenvalues):
  """Labels each rate contour rho where it runs level, in the complex band at beta = rho^2
  (rate sqrt(beta) there), midway across the band: the labels stack apart instead of crowding
  where the contours converge. Levels whose band lies outside the map are labelled by
  matplotlib's placement."""
  spectrum = np.atleast_1d(np.asarray(eigenvalues, float))
  places, others = [], []
  for level in contours.levels:
    left = max((1 - level) ** 2 / spectrum.min(), learning_rates[0])
    right = min((1 + level) ** 2 / spectrum.max(), learning_rates[-1])
    if betas[0] <= level ** 2 <= betas[-1] and left < right:
      places.append(((left + right) / 2, level ** 2))
    else:
      others.append(level)
  style = dict(fmt="%.2f", fontsize=9, colors="black")
  labels = ax.clabel(contours, manual=places, **style) if places else []
  if others:
    labels = [*labels, *ax.clabel(contours, levels=others, **style)]
  halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
  for label in labels:
    label.set_path_effects(halo)


def _draw_boundaries(ax, betas, eigenvalues):
  spectrum = np.atleast_1d(np.asarray(eigenvalues, float))
  low, high = spectrum.min(), spectrum.max()
  one = low == high
  beta = np.linspace(max(betas[0], 0.0), min(betas[-1], 1.0), 400)
  band_low, band_high = theory.momentum_band(beta)
  limit = theory.momentum_stability_limit(beta) / high
  stable = band_low / low <= limit  # critical damping at lambda_min means nothing past divergence
  scaled = "αλ" if one else "αλ_min"
  ax.plot(band_low[stable] / low, beta[stable], color="tab:red", lw=1.6,
          label=f"{scaled} = (1 - √β)²: critical damping, β = (1 - √({scaled}))²")
  scaled = "αλ" if one else "αλ_max"
  ax.plot(band_high / high, beta, color="tab:orange", lw=1.6,
          label=f"{scaled} = (1 + √β)²: repeated root -√β")
  ax.plot(limit, beta, color="black", lw=1.6, ls="--",
          label=f"{scaled} = 2 + 2β: divergence beyond")
  if not one:
    best = theory.momentum_optimal(spectrum)
    ax.plot(best.learning_rate, best.beta, "*", color="white", mec="black", ms=14,
            label=f"optimum α* = {best.learning_rate:.3g}, β* = {best.beta:.3g} "
                  f"(ρ = {best.rate:.3g})")
