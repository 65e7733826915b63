"""Muon (Jordan et al. 2024): momentum whose matrix steps are orthogonalized, U S V^T -> U V^T,
by a few Newton-Schulz iterations; steepest descent in the spectral norm (Bernstein & Newhouse
2024). Matrices (2-D leaves) get Muon, every other leaf Adam with Nesterov momentum, as
optax.contrib.muon.
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.tree_util import keystr, tree_flatten_with_path

from jaxopt_lab._validation import NONNEGATIVE, UNIT, Interval, check, check_int
from jaxopt_lab.optim.adam_family import unchecked_nadam
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.arithmetic import moving_average, scalar_dtype
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule, cast_like, safe_div, safe_norm, wide
from jaxopt_lab.optim.blocks import with_learning_rate
from jaxopt_lab.optim.masking import masked_decay

__all__ = ["orthogonalize_via_newton_schulz", "scale_by_muon", "muon", "MuonState"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # Jordan's quintic: steep at 0, S' in ~[0.7, 1.2]


def orthogonalize_via_newton_schulz(x: jax.Array, ns_steps=5, eps: Scalar = 1e-8) -> jax.Array:
  """About U V^T for x = U S V^T, an [m, n] matrix: X = x / (|x|_F + eps), then `ns_steps` of

    X <- a X + (b A + c A^2) X,   A = X X^H,   (a, b, c) = (3.4445, -4.7750, 2.0315)

  on the wide orientation (m <= n; a tall x is transposed and back). Singular values end in
  about [0.7, 1.2], not exactly 1 (Jordan's coefficients trade that for speed), as
  optax.contrib.orthogonalize_via_newton_schulz with its defaults.
  """
  transposed = x.shape[0] > x.shape[1]
  x = wide(x.T if transposed else x)
  x = safe_div(x, safe_norm(x) + eps)  # 0 for x = 0, even with eps = 0
  a, b, c = NS_COEFFICIENTS

  def iteration(_, x):
    gram = x @ jnp.conj(x.T)
    return a * x + (b * gram + c * gram @ gram) @ x

  if isinstance(ns_steps, int):
    for i in range(ns_steps):  # unrolled, as optax (it composes better with vmap)
      x = iteration(i, x)
  else:
    x = jax.lax.fori_loop(0, ns_steps, iteration, x)
  return x.T if transposed else x


class MuonState(NamedTuple):
  beta_power: jax.Array  # beta^t after t updates (the bias correction's; the step count
  mu: optax.Updates      # stays with the Adam part and the learning rate, one per state)


def scale_by_muon(beta: Scalar = 0.95, ns_steps=5,
                  eps: Scalar = 1e-8) -> optax.GradientTransformation:
  """Muon on matrices (every leaf must be 2-D; `muon` sends the others to Adam):

    m <- beta m + (1 - beta) g;   m_hat = beta m / (1 - beta^(t+1)) + (1 - beta) g / (1 - beta^t)
    update = sqrt(max(1, n_out / n_in)) orthogonalize_via_newton_schulz(m_hat)

  for a leaf of shape [n_in, n_out]: Nesterov momentum with bias correction, then the width
  scaling of Jordan's reference, as optax.contrib.scale_by_muon followed by its scale_by_shape.
  """
  check("scale_by_muon", beta=(beta, UNIT), eps=(eps, NONNEGATIVE))
  check_int("scale_by_muon", ns_steps=(ns_steps, Interval(1, math.inf)))

  def init(params):
    for path, leaf in tree_flatten_with_path(params)[0]:
      if jnp.ndim(leaf) != 2:
        raise ValueError(f"scale_by_muon: the leaf at {keystr(path)} has shape "
                         f"{jnp.shape(leaf)}; Muon orthogonalizes matrices only (muon() sends "
                         "every other leaf to Adam)")
    return MuonState(jnp.ones([], scalar_dtype(params)), optax.tree.zeros_like(params))

  def update(grads, state, params=None):
    del params
    power = wide(state.beta_power) * beta
    now, following = 1 - power, 1 - power * beta
    mu = moving_average(state.mu, grads, beta, 1)

    def step(m, g):
      nesterov = beta * m / following + (1 - beta) * wide(g) / now
      n_in, n_out = g.shape
      width = math.sqrt(max(1.0, n_out / n_in))
      return (width * orthogonalize_via_newton_schulz(nesterov, ns_steps, eps)).astype(g.dtype)

    return jax.tree.map(step, mu, grads), MuonState(power.astype(state.beta_power.dtype),
                                                      cast_like(mu, state.mu))

  return optax.GradientTransformation(init, update)


def _label(params):
  return jax.tree.map(lambda w: "muon" if jnp.ndim(w) == 2 else "adam", params)


@optimizer
def muon(learning_rate: ScalarOrSchedule = 0.02, beta: Scalar = 0.95, ns_steps=5,
         eps: Scalar = 1e-8, weight_decay: Scalar = 0.0, mask=None, adam_b1: Scalar = 0.9,
         adam_b2: Scalar = 0.999) -> optax.GradientTransformation:
  """Muon: w <- w - lr (update + weight_decay w), the update `scale_by_muon`'s on matrices and
  Adam's with Nesterov momentum (Dozat's form, b1 = adam_b1, b2 = adam_b2, the same eps) on
  every other leaf. Jordan et al. (2024), as optax.contrib.muon with its defaults.

  The decay is decoupled and scaled by the learning rate, on every leaf `mask` selects (a
  pytree of bools, or a function params -> one; all if None): optax.contrib.muon(
  weight_decay=w, adam_weight_decay=w, weight_decay_mask=mask) when mask marks only
  matrices. Muon's learning rate is its spectral step: 0.02 is Jordan's, Adam's part shares it.
  """
  check("muon", adam_b1=(adam_b1, UNIT), adam_b2=(adam_b2, UNIT))
  parts = {"muon": scale_by_muon(beta, ns_steps, eps),
           "adam": unchecked_nadam(adam_b1, adam_b2, eps, math.inf)}
  return with_learning_rate(optax.partition(parts, _label), masked_decay(weight_decay, mask),
                            learning_rate=learning_rate)
