"""Adadelta (Zeiler 2012): AdaGrad's step sizes without a learning rate to tune, the ratio of
two moving RMS, of past steps and of past gradients."""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import NONNEGATIVE, PROBABILITY, check, check_same_tree
from jaxopt_lab.optim.aliases import optimizer
from jaxopt_lab.optim.base import (
    Scalar, ScalarOrSchedule, abs_sq, cast_like, safe_div, safe_sqrt, wide)
from jaxopt_lab.optim.blocks import with_learning_rate

__all__ = ["scale_by_adadelta", "adadelta", "ScaleByAdadeltaState"]


class ScaleByAdadeltaState(NamedTuple):
  square_avg: optax.Updates  # E[g^2], the moving average of squared gradients
  acc_delta: optax.Updates   # E[dx^2], the moving average of squared steps


def scale_by_adadelta(rho: Scalar = 0.9, eps: Scalar = 1e-6) -> optax.GradientTransformation:
  """Adadelta (Zeiler 2012, Algorithm 1), as torch.optim.Adadelta and optax.scale_by_adadelta:

    E[g^2] <- rho E[g^2] + (1 - rho) |g|^2
    dx = sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) g          (the update)
    E[dx^2] <- rho E[dx^2] + (1 - rho) |dx|^2

  The first steps are about sqrt(eps) in size: the numerator starts at sqrt(eps).
  """
  check("scale_by_adadelta", rho=(rho, PROBABILITY), eps=(eps, NONNEGATIVE))

  def init(params):
    return ScaleByAdadeltaState(optax.tree.zeros_like(params), optax.tree.zeros_like(params))

  def update(grads, state, params=None):
    del params
    check_same_tree("scale_by_adadelta.update", ("grads", grads),
                    ("state.square_avg", state.square_avg), ("state.acc_delta", state.acc_delta))
    square_avg = jax.tree.map(lambda s, g: rho * jnp.real(wide(s)) + (1 - rho) * abs_sq(wide(g)),
                              state.square_avg, grads)
    steps = jax.tree.map(
        lambda g, s, d: safe_div(safe_sqrt(jnp.real(wide(d)) + eps) * wide(g),
                                 safe_sqrt(s + eps)),
        grads, square_avg, state.acc_delta)
    acc_delta = jax.tree.map(lambda d, x: rho * jnp.real(wide(d)) + (1 - rho) * abs_sq(wide(x)),
                             state.acc_delta, steps)
    return cast_like(steps, grads), ScaleByAdadeltaState(cast_like(square_avg, state.square_avg),
                                                         cast_like(acc_delta, state.acc_delta))

  return optax.GradientTransformation(init, update)


@optimizer
def adadelta(learning_rate: ScalarOrSchedule = 1.0, rho: Scalar = 0.9,
             eps: Scalar = 1e-6) -> optax.GradientTransformation:
  """Adadelta: w <- w - lr sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) g (torch.optim.Adadelta,
  optax.adadelta; Zeiler 2012); see `scale_by_adadelta`. The paper has no learning rate
  (lr = 1, torch's default)."""
  return with_learning_rate(scale_by_adadelta(rho, eps), learning_rate=learning_rate)
