"""Sign methods: every coordinate moves by the same amount, lr, in the direction of a sign.

sign(x) is -1, 0 or 1 for real x and x / |x| (0 at 0) for complex x, as jnp.sign and optax.
These steps are not linear in the gradients: `theory.linear_rate` rejects them, and on a
quadratic with a constant learning rate they end in an oscillation of size ~lr, not at w*.
"""
from typing import NamedTuple

import jax
import optax

from jaxopt_lab._validation import UNIT, check, check_same_tree
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.arithmetic import moving_average, sign
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule, cast_like
from jaxopt_lab.optim.blocks import with_learning_rate
from jaxopt_lab.optim.masking import masked_decay

__all__ = ["scale_by_sign", "scale_by_lion", "sign_sgd", "lion", "ScaleByLionState"]


def scale_by_sign() -> optax.GradientTransformation:
  """u <- sign(u), coordinate by coordinate (optax.scale_by_sign)."""

  def init(params):
    del params
    return optax.EmptyState()

  def update(updates, state, params=None):
    del params
    return jax.tree.map(lambda u: sign(u).astype(u.dtype), updates), state

  return optax.GradientTransformation(init, update)


class ScaleByLionState(NamedTuple):
  mu: optax.Updates


def scale_by_lion(b1: Scalar = 0.9, b2: Scalar = 0.99) -> optax.GradientTransformation:
  """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"):

    update = sign(b1 m + (1 - b1) g);   then m <- b2 m + (1 - b2) g

  as optax.scale_by_lion: the sign interpolates with b1, the momentum tracks with b2.
  """
  check("scale_by_lion", b1=(b1, UNIT), b2=(b2, UNIT))

  def init(params):
    return ScaleByLionState(optax.tree.zeros_like(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_lion.update", ("grads", grads), ("state.mu", state.mu))
    interpolated = moving_average(state.mu, grads, b1, 1)
    updates = jax.tree.map(lambda c, g: sign(c).astype(g.dtype), interpolated, grads)
    mu = moving_average(state.mu, grads, b2, 1)
    return updates, ScaleByLionState(cast_like(mu, state.mu))

  return optax.GradientTransformation(init, update)


@optimizer
def sign_sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
  """signSGD (Bernstein et al. 2018): w <- w - lr sign(g) (optax.sign_sgd)."""
  return with_learning_rate(scale_by_sign(), learning_rate=learning_rate)


@optimizer
def lion(learning_rate: ScalarOrSchedule = 1e-4, b1: Scalar = 0.9, b2: Scalar = 0.99,
         weight_decay: Scalar = 0.0, mask=None) -> optax.GradientTransformation:
  """Lion: w <- w - lr (sign(b1 m + (1 - b1) g) + weight_decay w), m <- b2 m + (1 - b2) g
  (optax.lion, Chen et al. 2023); see `scale_by_lion`.

  The decay is decoupled and scaled by the learning rate, as AdamW's; `mask` (a pytree of
  bools, or a function params -> one) selects the leaves that decay. Lion's steps have norm
  lr sqrt(n) whatever the gradient, so its learning rate is typically 3-10x below AdamW's
  and its weight decay 3-10x above (the paper's advice).
  """
  return with_learning_rate(scale_by_lion(b1, b2), masked_decay(weight_decay, mask),
                            learning_rate=learning_rate)
