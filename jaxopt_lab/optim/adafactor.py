"""Adafactor (Shazeer & Stern 2018): Adam-like scaling from a factored second moment, so that
an [n, m] matrix keeps n + m numbers of state instead of n m.

For a matrix gradient G (the two largest axes, when both have at least
`min_dim_size_to_factor` entries), with beta_t = 1 - t^(-decay_rate) (t = 1, 2, ...):

  R <- beta_t R + (1 - beta_t) mean_cols(|G|^2 + eps)     (one number per row)
  C <- beta_t C + (1 - beta_t) mean_rows(|G|^2 + eps)     (one number per column)
  V_hat = R C^T / mean(R);   U = G / sqrt(V_hat)

and for smaller leaves the unfactored v <- beta_t v + (1 - beta_t)(|g|^2 + eps), u = g / sqrt(v).
As optax.scale_by_factored_rms; the update is then clipped to RMS <= clipping_threshold per
leaf and scaled by the leaf's parameter RMS (at least 1e-3): a relative step size.
"""
import math
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import (
    NONNEGATIVE, Interval, check, check_int, check_params, check_same_tree)
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.arithmetic import safe_rms, scalar_dtype
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule, abs_sq, wide
from jaxopt_lab.optim.blocks import with_learning_rate
from jaxopt_lab.optim.masking import masked_decay

__all__ = ["scale_by_factored_rms", "clip_by_block_rms", "scale_by_param_block_rms",
           "adafactor", "FactoredState"]

ABOVE_ZERO_UP_TO_INFINITY = Interval(0.0, math.inf, closed_low=False, closed_high=True)


class FactoredState(NamedTuple):
  count: jax.Array     # int32: updates applied so far
  v_row: optax.Updates  # R per factored leaf; a (1,) placeholder for the others
  v_col: optax.Updates  # C per factored leaf; a (1,) placeholder for the others
  v: optax.Updates      # v per unfactored leaf; a (1,) placeholder for the factored ones


def factored_dims(shape, factored: bool, min_dim_size_to_factor: int) -> Optional[tuple]:
  """(second largest axis, largest axis) of a shape to factor over, or None (optax's rule)."""
  if not factored or len(shape) < 2:
    return None
  order = np.argsort(shape)
  if shape[order[-2]] < min_dim_size_to_factor:
    return None
  return int(order[-2]), int(order[-1])


@jax.custom_jvp
def _share(r, total):
  """r / total, 0 where total = 0; its derivative (dr - share d total) / total, never the
  r / total^2 that underflows to r / 0 for total = 1e-30 (eps alone)."""
  positive = total > 0
  return jnp.where(positive, r / jnp.where(positive, total, 1.0), 0.0)


@_share.defjvp
def _share_jvp(primals, tangents):
  (r, total), (dr, dtotal) = primals, tangents
  share, positive = _share(r, total), total > 0
  return share, jnp.where(positive, (dr - share * dtotal) / jnp.where(positive, total, 1.0), 0.0)


@jax.custom_jvp
def _over_root(g, v):
  """g / sqrt(v) for v >= 0, and 0 where v = 0. Its derivative in v, -u / (2 v), is written
  with the quotient u = g / sqrt(v), so a zero gradient over eps = 1e-30 gives 0, not the
  0 * inf of g * d(v^-1/2)/dv (5e44 overflows float32)."""
  positive = v > 0
  return jnp.where(positive, g * jax.lax.rsqrt(jnp.where(positive, v, 1.0)), 0.0)


@_over_root.defjvp
def _over_root_jvp(primals, tangents):
  (g, v), (dg, dv) = primals, tangents
  u, positive = _over_root(g, v), v > 0
  safe_v = jnp.where(positive, v, 1.0)
  return u, jnp.where(positive, dg * jax.lax.rsqrt(safe_v) - 0.5 * u / safe_v * dv, 0.0)


def scale_by_factored_rms(decay_rate: Scalar = 0.8, eps: Scalar = 1e-30, factored: bool = True,
                          min_dim_size_to_factor: int = 128) -> optax.GradientTransformation:
  """Scaling by a factored estimate of the gradients' RMS (see the module docstring), as
  optax.scale_by_factored_rms: beta_t = 1 - t^(-decay_rate), so the first step has beta = 0.
  """
  check("scale_by_factored_rms", decay_rate=(decay_rate, NONNEGATIVE), eps=(eps, NONNEGATIVE))
  check_int("scale_by_factored_rms",
            min_dim_size_to_factor=(min_dim_size_to_factor, Interval(1, math.inf)))
  dims = lambda x: factored_dims(jnp.shape(x), factored, min_dim_size_to_factor)
  placeholder = lambda x: jnp.zeros((1,), jnp.result_type(x))

  def init(params):
    def rows(x):
      return placeholder(x) if dims(x) is None else jnp.zeros_like(x).mean(dims(x)[1])

    def cols(x):
      return placeholder(x) if dims(x) is None else jnp.zeros_like(x).mean(dims(x)[0])

    def full(x):
      return jnp.zeros_like(x) if dims(x) is None else placeholder(x)

    return FactoredState(jnp.zeros([], jnp.int32), jax.tree.map(rows, params),
                         jax.tree.map(cols, params), jax.tree.map(full, params))

  def update(grads, state, params=None):
    del params
    if jax.tree.structure(grads) != jax.tree.structure(state.v):  # v's leaves may be (1,)
      check_same_tree("scale_by_factored_rms.update", ("grads", grads), ("state.v", state.v))
    count = optax.safe_int32_increment(state.count)
    beta = 1 - jnp.power(count.astype(scalar_dtype(grads)), -decay_rate)

    def one(g, r, c, v):
      squared = abs_sq(wide(g)) + eps
      axes = dims(g)
      if axes is None:
        v = beta * jnp.real(wide(v)) + (1 - beta) * squared
        return _over_root(wide(g), v), r, c, v
      second, first = axes
      r = beta * jnp.real(wide(r)) + (1 - beta) * squared.mean(first)
      c = beta * jnp.real(wide(c)) + (1 - beta) * squared.mean(second)
      row_axis = second - 1 if second > first else second
      row_share = _share(r, r.mean(row_axis, keepdims=True))
      u = _over_root(_over_root(wide(g), jnp.expand_dims(row_share, first)),
                     jnp.expand_dims(c, second))
      return u, r, c, v

    out = [one(*leaves) for leaves in zip(*map(jax.tree.leaves, (
        grads, state.v_row, state.v_col, state.v)))]
    tree = jax.tree.structure(grads)
    rebuild = lambda i, like: jax.tree.unflatten(
        tree, [o[i].astype(l.dtype) for o, l in zip(out, jax.tree.leaves(like))])
    return rebuild(0, grads), FactoredState(count, rebuild(1, state.v_row),
                                            rebuild(2, state.v_col), rebuild(3, state.v))

  return optax.GradientTransformation(init, update)


def _clip(threshold) -> optax.GradientTransformation:
  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    del params
    clip = lambda u: (wide(u) / jnp.maximum(1.0, safe_rms(u) / threshold)).astype(u.dtype)
    return jax.tree.map(clip, updates), state

  return optax.GradientTransformation(init, update)


def clip_by_block_rms(threshold: Scalar = 1.0) -> optax.GradientTransformation:
  """u <- u / max(1, rms(u) / threshold) per leaf (optax.clip_by_block_rms); inf: no clipping."""
  check("clip_by_block_rms", threshold=(threshold, ABOVE_ZERO_UP_TO_INFINITY))
  return _clip(threshold)


def scale_by_param_block_rms(min_scale: Scalar = 1e-3) -> optax.GradientTransformation:
  """u <- u max(rms(w), min_scale) per leaf (optax.scale_by_param_block_rms)."""
  check("scale_by_param_block_rms", min_scale=(min_scale, NONNEGATIVE))

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    check_params("scale_by_param_block_rms", updates, params)
    scale = lambda u, w: (wide(u) * jnp.maximum(safe_rms(w), min_scale)).astype(u.dtype)
    return jax.tree.map(scale, updates, params), state

  return optax.GradientTransformation(init, update)


@optimizer
def adafactor(learning_rate: ScalarOrSchedule = 1e-2, decay_rate: Scalar = 0.8,
              eps: Scalar = 1e-30, clipping_threshold: Scalar = 1.0, weight_decay: Scalar = 0.0,
              mask=None, *, factored: bool = True, min_dim_size_to_factor: int = 128,
              multiply_by_parameter_scale: bool = True) -> optax.GradientTransformation:
  """Adafactor: w <- w - lr (rms(w) clip(U) + weight_decay w), U the factored-RMS-scaled
  gradient of `scale_by_factored_rms`, clip to RMS <= clipping_threshold (inf: none), rms(w)
  at least 1e-3 (1 with multiply_by_parameter_scale=False). Shazeer & Stern (2018).

  optax.adafactor(learning_rate, weight_decay_rate=learning_rate * weight_decay): the same
  numbers for a constant rate. Here the decoupled decay is scaled by the learning rate, as
  in AdamW and everywhere in this library; optax's weight_decay_rate is not. `mask` (a
  pytree of bools, or a function params -> one) selects the leaves that decay. No momentum
  (optax's default). The paper's relative step size is min(1e-2, 1/sqrt(t)): pass it as a
  schedule.
  """
  check("adafactor", clipping_threshold=(clipping_threshold, ABOVE_ZERO_UP_TO_INFINITY))
  parameter_scale = ([scale_by_param_block_rms()] if multiply_by_parameter_scale else [])
  return with_learning_rate(
      scale_by_factored_rms(decay_rate, eps, factored, min_dim_size_to_factor),
      _clip(clipping_threshold), *parameter_scale, masked_decay(weight_decay, mask),
      learning_rate=learning_rate)
