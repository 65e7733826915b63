"""The lectures' velocity forms of momentum: the velocity carries the learning rate.

  heavy ball:                   v <- beta v - lr g(w);           w <- w + v
  Nesterov, look-ahead:         v <- beta v - lr g(w + beta v);  w <- w + v
  Nesterov, change of variables (w~ = w + beta v):
                                v' <- beta v - lr g(w~);         w~ <- w~ - beta v + (1 + beta) v'

For a constant learning rate these give the iterates of `scale_by_momentum` and
`scale_by_nesterov` followed by `scale_by_learning_rate` (their velocity is -v / lr here); the
look-ahead form's w + beta v is the change-of-variables form's w~. With a schedule they would
differ, since this velocity remembers past rates, so these forms take a constant rate only.

The look-ahead form needs the gradient at the look-ahead point, not at the parameters:
  grads = jax.grad(loss)(nesterov_lookahead_point(params, state, beta))
  updates, state = opt.update(grads, state)
"""
from typing import NamedTuple

import jax
import optax

from jaxopt_lab._validation import NONNEGATIVE, UNIT, check, check_same_tree
from jaxopt_lab.optim.base import Scalar, cast_like, wide

__all__ = ["VelocityState", "momentum_velocity_form", "nesterov_lookahead_form", "nesterov_lookahead_point", "nesterov_change_of_variables"]


class VelocityState(NamedTuple):
  velocity: optax.Updates  # the last step taken, learning rate included


def _check(call: str, learning_rate, beta) -> None:
  if callable(learning_rate):
    raise ValueError(f"{call}(learning_rate=<schedule>): learning_rate must be a number in "
                     "[0, inf) (the velocity forms take a constant learning rate; use "
                     "scale_by_momentum or scale_by_nesterov for schedules), got <schedule>")
  check(call, learning_rate=(learning_rate, NONNEGATIVE), beta=(beta, UNIT))


def _velocity_form(call, learning_rate, beta, step) -> optax.GradientTransformation:
  """v' = beta v - lr g; the update is step(v, v')."""

  def init(params):
    return VelocityState(optax.tree.zeros_like(params))

  def update(grads, state, params=None):
    del params
    check_same_tree(f"{call}.update", ("grads", grads), ("state.velocity", state.velocity))
    new = jax.tree.map(lambda v, g: beta * wide(v) - learning_rate * wide(g),
                       state.velocity, grads)
    updates = jax.tree.map(lambda v, n, g: step(wide(v), n).astype(g.dtype),
                           state.velocity, new, grads)
    return updates, VelocityState(cast_like(new, state.velocity))

  return optax.GradientTransformation(init, update)


def momentum_velocity_form(learning_rate: Scalar, beta: Scalar = 0.9):
  """Heavy ball as v <- beta v - lr g; w <- w + v (the update is v itself)."""
  _check("momentum_velocity_form", learning_rate, beta)
  return _velocity_form("momentum_velocity_form", learning_rate, beta, lambda v, new: new)


def nesterov_lookahead_form(learning_rate: Scalar, beta: Scalar = 0.9):
  """Nesterov as v <- beta v - lr g(w + beta v); w <- w + v.

  The caller evaluates the gradient at `nesterov_lookahead_point(params, state, beta)`.
  """
  _check("nesterov_lookahead_form", learning_rate, beta)
  return _velocity_form("nesterov_lookahead_form", learning_rate, beta, lambda v, new: new)


def nesterov_lookahead_point(params, state: VelocityState, beta: Scalar):
  """w + beta v: where `nesterov_lookahead_form` needs the gradient."""
  return jax.tree.map(lambda w, v: (wide(w) + beta * wide(v)).astype(w.dtype),
                      params, state.velocity)


def nesterov_change_of_variables(learning_rate: Scalar, beta: Scalar = 0.9):
  """Nesterov on w~ = w + beta v: v' <- beta v - lr g(w~); w~ <- w~ - beta v + (1 + beta) v'."""
  _check("nesterov_change_of_variables", learning_rate, beta)
  return _velocity_form("nesterov_change_of_variables", learning_rate, beta,
                        lambda v, new: (1 + beta) * new - beta * v)
