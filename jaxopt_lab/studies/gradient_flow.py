"""Vanishing and exploding gradients in deep MLPs on digits, the lectures' story in one figure.

At initialisation (in float64): the gradient norm of every layer of a deep net and of the first
layer against depth, for sigmoid, tanh and ReLU at their standard inits and at too-large ones;
the singular values of each layer's Jacobian dh_l/dh_{l-1} and of their products dh_l/dx.
In training (float32, full batch): per-layer gradient norms of depth-10 nets, the fraction of
dead ReLUs after too-large learning rates, and clipping by global norm taming an exploding net.
Writes gradient_flow.png and gradient_norms.csv, singular_values.csv, training.csv,
dead_relus.csv, clipping.csv.
"""
import argparse
import math
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

from jaxopt_lab.diagnostics import gradient_flow as flow
from jaxopt_lab.train.data import digits
from jaxopt_lab.optim.aliases import sgd
from jaxopt_lab.figures import save_figure
from jaxopt_lab.files import save_table
from jaxopt_lab.optim.clipping import clip_by_global_norm
from jaxopt_lab.studies import SEED_MAX, check_option
from optax import chain

DESCRIPTION = ("Vanishing/exploding gradients: per-layer gradient norms vs depth, Jacobian "
               "singular values, dead ReLUs, clipping (PNG + CSV).")
HE = math.sqrt(2.0)
# (label, activation, gain, colour, line style): the standard inits, then too-large ones
CONFIGS = [("sigmoid, Xavier", "sigmoid", 1.0, "tab:blue", "-"),
           ("tanh, Xavier", "tanh", 1.0, "tab:orange", "-"),
           ("ReLU, He", "relu", HE, "tab:green", "-"),
           ("tanh, 3x Xavier (too large)", "tanh", 3.0, "tab:orange", "--"),
           ("ReLU, 2x He (too large)", "relu", 2 * HE, "tab:green", "--")]
TRAINING = dict(depth=10, learning_rate=0.1)
DEAD_RELU = dict(depth=6, learning_rates=(0.3, 3.0, 10.0), max_norm=1.0)
CLIPPING = dict(depth=10, gain=1.5 * HE, learning_rate=0.1, max_norm=1.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--max-depth", type=int, default=20,
                      help="deepest net of the depth sweep (a-e), in weight layers "
                           "(default: %(default)s)")
  parser.add_argument("--width", type=int, default=64, help="hidden width (default: %(default)s)")
  parser.add_argument("--seed", type=int, default=0, help="initialisation seed")


def main(args: argparse.Namespace) -> list[Path]:
  check_option("--max-depth", args.max_depth, 2, 40)
  check_option("--width", args.width, 1, 4096)
  check_option("--seed", args.seed, 0, SEED_MAX)
  max_depth, width = (min(args.max_depth, 4), min(args.width, 32)) if args.quick else (
      args.max_depth, args.width)
  data = digits(args.seed)
  x, y = data.x_train, data.y_train
  if args.quick:
    x, y = x[:256], y[:256]
  steps = 30 if args.quick else 300  # of training; a third for dead ReLUs, a sixth for clipping
  key = jax.random.key(args.seed)
  depths = sorted({2, *range(4, max_depth + 1, 2), max_depth})
  norms, spectra = at_initialisation(key, x, y, depths, width, probe=16 if args.quick else 64)
  training = training_runs(key, x, y, TRAINING["depth"], width, steps)
  dead = dead_relus(key, x, y, DEAD_RELU["depth"], width, steps // 3)
  clipping = clipping_runs(key, x, y, CLIPPING["depth"], width, max(steps // 6, 10))
  out = Path(args.out)
  figure = plot(norms, spectra, training, dead, clipping, max_depth, width)
  return [save_table(norms, out / "gradient_norms.csv"),
          save_table(spectra_table(spectra), out / "singular_values.csv"),
          save_table(training, out / "training.csv"), save_table(dead, out / "dead_relus.csv"),
          save_table(clipping, out / "clipping.csv"),
          save_figure(figure, out / "gradient_flow.png")]


def at_initialisation(key, x, y, depths, width, probe):
  """Per-layer gradient norms for every config and depth, and Jacobian spectra at the deepest
  (on `probe` inputs), all in float64 so that vanished values stay resolved."""
  rows, spectra = [], {}
  with jax.enable_x64(True):
    x64 = jnp.asarray(x, jnp.float64)
    for label, activation, gain, _, _ in CONFIGS:
      for depth in depths:
        params = _float64(flow.init_mlp(key, depth, width, gain=gain))
        norms = np.asarray(flow.layer_gradient_norms(params, x64, y, activation))
        rows += [{"config": label, "activation": activation, "gain": gain, "depth": depth,
                  "layer": layer, "gradient_norm": norm} for layer, norm in enumerate(norms, 1)]
      layers, products = _spectra(params, x64[:probe], activation)
      spectra[label] = ([np.asarray(s) for s in layers], np.asarray(products))
  return pd.DataFrame(rows), spectra


@partial(jax.jit, static_argnames="activation")
def _spectra(params, x, activation):
  """Both spectra in one compiled program."""
  return (flow.layer_jacobian_singular_values(params, x, activation),
          flow.product_jacobian_singular_values(params, x, activation))


def _float64(params):
  return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)


def spectra_table(spectra) -> pd.DataFrame:
  """Per config and layer l: medians over inputs of sigma_max, sigma_median and sigma_min of
  dh_l/dh_{l-1} and of dh_l/dx."""
  rows = []
  for label, (layers, products) in spectra.items():
    for l, (one, product) in enumerate(zip(layers, products), 1):
      for jacobian, values in (("dh_l/dh_l-1", one), ("dh_l/dx", product)):
        rows.append({"config": label, "layer": l, "jacobian": jacobian,
                     "sigma_max": np.median(values[:, 0]),
                     "sigma_median": np.median(np.median(values, axis=1)),
                     "sigma_min": np.median(values[:, -1])})
  return pd.DataFrame(rows)


def training_runs(key, x, y, depth, width, steps):
  """Full-batch SGD at the standard inits: loss and per-layer gradient norms at every step."""
  rows = []
  for label, activation, gain, _, style in CONFIGS:
    if style != "-":
      continue
    run = flow.train(flow.init_mlp(key, depth, width, gain=gain), x, y, activation,
                     sgd(TRAINING["learning_rate"]), steps)
    losses, norms = np.asarray(run.losses), np.asarray(run.gradient_norms)
    rows += [{"config": label, "depth": depth, "step": step, "layer": layer,
              "loss": losses[step], "gradient_norm": norms[step, layer - 1]}
             for step in range(steps) for layer in range(1, depth + 1)]
  return pd.DataFrame(rows)


def dead_relus(key, x, y, depth, width, steps):
  """Dead-ReLU fraction per layer at He init and after clipped SGD at growing learning rates."""
  params = flow.init_mlp(key, depth, width, gain=HE)
  rates = jnp.asarray([0.0, *DEAD_RELU["learning_rates"]])  # 0: the initialisation itself

  def run(rate):  # one compiled program for every learning rate
    optimizer = chain(clip_by_global_norm(DEAD_RELU["max_norm"]), sgd(rate))
    trained = flow.train(params, x, y, "relu", optimizer, steps)
    return flow.dead_relu_fraction(trained.params, x), trained.losses[-1]

  fractions, losses = map(np.asarray, jax.jit(jax.vmap(run))(rates))
  return pd.DataFrame([
      {"state": f"{steps} steps at lr {rate:g}" if rate else "initialisation",
       "learning_rate": float(rate), "layer": layer, "dead_fraction": fraction,
       "final_loss": loss, "steps": steps if rate else 0}
      for rate, per_layer, loss in zip(np.asarray(rates), fractions, losses)
      for layer, fraction in enumerate(per_layer, 1)])


def clipping_runs(key, x, y, depth, width, steps):
  """A ReLU net with a too-large init under plain SGD, and under SGD after clipping."""
  params = flow.init_mlp(key, depth, width, gain=CLIPPING["gain"])
  rate, max_norm = CLIPPING["learning_rate"], CLIPPING["max_norm"]
  runs = {"SGD": sgd(rate),
          f"clip_by_global_norm({max_norm:g}) + SGD": chain(clip_by_global_norm(max_norm),
                                                           sgd(rate))}
  rows = []
  for name, optimizer in runs.items():
    losses = np.asarray(flow.train(params, x, y, "relu", optimizer, steps).losses)
    rows += [{"optimizer": name, "step": step, "loss": value, "depth": depth,
              "gain": CLIPPING["gain"], "learning_rate": rate}
             for step, value in enumerate(losses)]
  return pd.DataFrame(rows)


def plot(norms, spectra, training, dead, clipping, max_depth, width):
  fig, axes = plt.subplots(3, 3, figsize=(16, 13.5), layout="constrained")
  panels, key = axes.flat[:8], axes.flat[8]
  _plot_layers(panels[0], norms, max_depth)
  _plot_depths(panels[1], norms)
  _plot_layer_spectra(panels[2], spectra)
  _plot_products(panels[3], spectra)
  _plot_product_spectrum(panels[4], spectra, max_depth)
  _plot_training(panels[5], training)
  _plot_dead(panels[6], dead)
  _plot_clipping(panels[7], clipping)
  for ax in panels:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
  handles = [*panels[0].get_lines(), panels[2].get_lines()[-1]]  # the five MLPs, sigma = 1
  key.axis("off")  # one key for (a-e), in the ninth cell, instead of five legends over lines
  key.legend(handles, [line.get_label() for line in handles], loc="center", fontsize=10,
             title="(a-e): activation, initialisation")
  fig.suptitle(f"Vanishing and exploding gradients in MLPs of width {width} on digits: (a-e) at "
               "initialisation, in float64; (f-h) during full-batch SGD training", fontsize=12)
  return fig


def _style(label):
  _, _, _, colour, style = next(c for c in CONFIGS if c[0] == label)
  return dict(color=colour, ls=style)


def _plot_layers(ax, norms, max_depth):
  deepest = norms[norms.depth == max_depth]
  for label, group in deepest.groupby("config", sort=False):
    ax.semilogy(group.layer, group.gradient_norm, marker="o", ms=3, label=label, **_style(label))
  ax.set(xlabel="layer l (1 = input side)", ylabel="gradient norm ||dL/dW_l||",
         title=f"(a) Gradient norm per layer, depth {max_depth}, at init")


def _plot_depths(ax, norms):
  first = norms[norms.layer == 1]
  for label, group in first.groupby("config", sort=False):
    ax.semilogy(group.depth, group.gradient_norm, marker="o", ms=3, label=label, **_style(label))
  ax.set(xlabel="depth L (weight layers)", ylabel="first-layer gradient norm ||dL/dW_1||",
         title="(b) First layer's gradient vs depth: exponential in L")


def _plot_layer_spectra(ax, spectra):
  bins = np.linspace(-6, 1.5, 61)
  for label, (layers, _) in spectra.items():
    values = np.concatenate([s.ravel() for s in layers])
    ax.hist(np.log10(values[values > 10 ** bins[0]]), bins=bins, density=True, histtype="step",
            lw=1.5, label=label, **_style(label))
  ax.axvline(0, color="k", ls=":", lw=1, label="sigma = 1 (norm kept)")
  ax.set(xlabel="log10 singular value of dh_l/dh_(l-1)\n(all layers and inputs; zeros left out)",
         ylabel="density", title="(c) One layer's Jacobian: singular values")


def _plot_products(ax, spectra):
  for label, (_, products) in spectra.items():
    layers = np.arange(1, len(products) + 1)
    ax.semilogy(layers, np.median(products[:, :, 0], axis=1), marker="o", ms=3, label=label,
                **_style(label))
  ax.axhline(1, color="k", ls=":", lw=1)
  ax.set(xlabel="layer l", ylabel="largest singular value of dh_l/dx (median over inputs)",
         title="(d) Product of Jacobians J_l ... J_1: sigma_max")


def _plot_product_spectrum(ax, spectra, max_depth):
  for label, (_, products) in spectra.items():
    spectrum = np.median(products[-1], axis=0)
    resolved = spectrum > 1e-14 * spectrum[0]  # below: zero up to float64 rounding
    ax.semilogy(np.flatnonzero(resolved) + 1, spectrum[resolved], marker=".", ms=3, label=label,
                **_style(label))
  ax.axhline(1, color="k", ls=":", lw=1)
  ax.set(xlabel="index k (largest first)", ylabel=f"sigma_k of dh_{max_depth - 1}/dx (median)",
         title="(e) Spectrum of the whole product (zeros left out)")


def _plot_training(ax, training):
  depth = int(training.depth.iloc[0])
  for label, group in training.groupby("config", sort=False):
    final = group.loss.iloc[-1]
    for layer, ls in ((1, "-"), (depth, "--")):
      rows = group[group.layer == layer]
      name = f"{label}: layer {layer}" + (f" (final loss {final:.2f})" if layer == 1 else "")
      ax.semilogy(rows.step, rows.gradient_norm, ls=ls, color=_style(label)["color"], label=name)
  ax.set(xlabel="SGD step (full batch, lr 0.1)", ylabel="gradient norm ||dL/dW_l||",
         title=f"(f) Training depth {depth}: first (solid), last (dashed)\nlayer; "
               f"chance loss {math.log(10):.2f}")
  ax.legend()


def _plot_dead(ax, dead):
  for i, (state, group) in enumerate(dead.groupby("state", sort=False)):
    final = group.final_loss.iloc[0]
    ax.plot(group.layer, group.dead_fraction, "o-", color=plt.get_cmap("viridis")(i / 3),
            label=f"{state} (loss {final:.2f})")
  ax.set(xlabel="hidden layer", ylabel="fraction of dead ReLUs (0 on every input)",
         ylim=(-0.03, 1.03), title=f"(g) Dead ReLUs (He init, clipped SGD)")
  ax.legend()


def _plot_clipping(ax, clipping):
  ceiling = 1e6  # the unclipped run leaves any useful scale within a step or two
  for (name, group), colour in zip(clipping.groupby("optimizer", sort=False),
                                   ["tab:red", "tab:purple"]):
    losses = group.loss.to_numpy()
    finite = np.isfinite(losses)
    shown = np.minimum(losses[finite], ceiling)
    ax.semilogy(group.step[finite], shown, marker="o", ms=3, color=colour,
                label=f"{name}: loss {_outcome(losses)}")
    if not finite.all():
      last = np.flatnonzero(finite)[-1]
      ax.plot(last, shown[-1], "x", ms=12, mew=2, color=colour)
      ax.annotate(f"loss {losses[last]:.0e}, then NaN", (last, shown[-1]),
                  xytext=(12, -4), textcoords="offset points", color=colour)
  row = clipping.iloc[0]
  ax.set(xlabel="SGD step", ylabel=f"training loss (clipped at {ceiling:.0e} for display)",
         ylim=(None, 3 * ceiling),
         title=f"(h) Clipping: depth-{row.depth} ReLU, {row.gain / HE:g}x He init, "
               f"lr {row.learning_rate:g}")
  ax.legend()


def _outcome(losses):
  """'150 -> 4.6', or where it went non-finite."""
  if np.isfinite(losses).all():
    return f"{losses[0]:.3g} -> {losses[-1]:.3g}"
  return f"{losses[0]:.3g} -> NaN after {int(np.argmin(np.isfinite(losses)))} steps"
