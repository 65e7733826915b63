"""Rprop (Riedmiller & Braun 1993): full-batch steps of a per-coordinate size that grows while
the gradient keeps its sign and shrinks when it flips; the gradient's magnitude is unused."""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import (
    NONNEGATIVE, POSITIVE, Interval, caller, check, check_same_tree)
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.base import Scalar, cast_like, wide

__all__ = ["scale_by_rprop", "rprop", "ScaleByRpropState"]


class ScaleByRpropState(NamedTuple):
  count: jax.Array          # int32: updates applied so far (the optimizer's one step count)
  prev_sign: optax.Updates  # int8: the sign of the last gradient, 0 where it had flipped (all
                            # Rprop reads of torch's `prev`); [2, ...] for a complex leaf: the
                            # signs of its real and imaginary parts
  step_size: optax.Updates  # the current step size of every coordinate


def _signs_like(w) -> jax.Array:
  return jnp.zeros((2, *jnp.shape(w)) if jnp.iscomplexobj(w) else jnp.shape(w), jnp.int8)


def scale_by_rprop(learning_rate: Scalar = 1e-2, eta_minus: Scalar = 0.5, eta_plus: Scalar = 1.2,
                   step_size_min: Scalar = 1e-6,
                   step_size_max: Scalar = 50.0) -> optax.GradientTransformation:
  """Rprop as torch.optim.Rprop, coordinate by coordinate (step sizes start at learning_rate):

    s = sign(g g_prev);   step <- clip(step * (eta_plus if s > 0, eta_minus if s < 0, 1 if 0),
                                       step_size_min, step_size_max)
    g <- 0 where s < 0 (no move after a sign flip);   update = sign(g) step;   g_prev <- g

  Complex leaves: the real and imaginary parts separately, as torch. The state keeps the
  last gradient's sign as int8, not the gradient: all the rule reads of it, at a quarter of
  the memory. A NaN gradient gives a NaN update and keeps the step size (torch's sign(NaN) = 0
  skips the coordinate without a word); the steps after it are torch's. optax.scale_by_rprop
  0.2.8 differs: it returns each step's update one step late (its first update is 0; optax
  PR #1725), and leaves the step size unclipped when s = 0, where torch clips it.
  """
  if callable(learning_rate):
    raise ValueError(f"{caller('scale_by_rprop')}(learning_rate=<schedule>): learning_rate "
                     "must be a number in [0, inf) (Rprop's learning rate is its initial step "
                     "size, adapted per coordinate), got <schedule>")
  check("scale_by_rprop", learning_rate=(learning_rate, NONNEGATIVE),
        eta_minus=(eta_minus, Interval(0.0, 1.0, closed_low=False)),
        eta_plus=(eta_plus, Interval(1.0, math.inf, closed_low=False)),
        step_size_min=(step_size_min, NONNEGATIVE), step_size_max=(step_size_max, POSITIVE))

  def init(params):
    return ScaleByRpropState(jnp.zeros([], jnp.int32), jax.tree.map(_signs_like, params),
                             jax.tree.map(initial_step, params))

  def initial_step(w):
    both_parts = 1 + 1j if jnp.iscomplexobj(w) else 1  # complex: real and imaginary parts
    return jnp.full_like(w, learning_rate * both_parts)

  def rule(g, prev_sign, step):
    sign = jnp.sign(g)              # NaN for a NaN gradient, so that its update is NaN too
    s = sign * prev_sign
    factor = jnp.where(s > 0, eta_plus, jnp.where(s < 0, eta_minus, 1.0))
    step = jnp.clip(step * factor, step_size_min, step_size_max)
    sign = jnp.where(s < 0, 0.0, sign)
    return sign * step, sign.astype(jnp.int8), step  # a NaN sign is kept as 0: s = 0 next

  def leaf(g, prev_sign, step):
    """The rule on a real leaf; on a complex one, on its real and imaginary parts separately
    (torch.optim.Rprop's view_as_real), put back together."""
    if not jnp.iscomplexobj(g):
      return rule(wide(g), prev_sign, wide(step))
    re = rule(jnp.real(wide(g)), prev_sign[0], jnp.real(wide(step)))
    im = rule(jnp.imag(wide(g)), prev_sign[1], jnp.imag(wide(step)))
    return re[0] + 1j * im[0], jnp.stack([re[1], im[1]]), re[2] + 1j * im[2]

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_rprop.update", ("grads", grads),
                    ("state.step_size", state.step_size))
    out = jax.tree.map(leaf, grads, state.prev_sign, state.step_size)
    pick = lambda i: jax.tree.map(lambda _, o: o[i], grads, out)
    return cast_like(pick(0), grads), ScaleByRpropState(
        optax.safe_int32_increment(state.count), pick(1), cast_like(pick(2), state.step_size))

  return optax.GradientTransformation(init, update)


@optimizer
def rprop(learning_rate: Scalar = 1e-2, eta_minus: Scalar = 0.5, eta_plus: Scalar = 1.2,
          step_size_min: Scalar = 1e-6,
          step_size_max: Scalar = 50.0) -> optax.GradientTransformation:
  """Rprop: w <- w - sign(g) step, each coordinate's step multiplied by eta_plus while its
  gradient keeps its sign and by eta_minus when it flips (torch.optim.Rprop; Riedmiller &
  Braun 1993); see `scale_by_rprop`. learning_rate is the initial step size: a number, not a
  schedule. Meant for full batches: minibatch noise flips the signs."""
  return optax.chain(scale_by_rprop(learning_rate, eta_minus, eta_plus, step_size_min,
                                    step_size_max), optax.scale(-1.0))
