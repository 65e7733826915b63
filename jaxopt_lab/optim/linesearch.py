"""Line searches as gradient transformations: Armijo backtracking and strong Wolfe (zoom).

A line search takes a descent direction u (the incoming updates) at parameters w, picks a step
eta along phi(eta) = f(w + eta u) and returns eta * u. It calls the objective itself, so its
update takes the extra arguments of optax's line searches:

  search = scale_by_zoom_linesearch()
  state = search.init(params)
  updates, state = search.update(direction, state, params, value=f(params),
                                 grad=jax.grad(f)(params), value_fn=f)

Further keyword arguments of `update` go to `value_fn` (a batch, say). The state keeps the
value and gradient at the accepted point, so `optax.value_and_grad_from_state(f)` reuses them
on the next step. Complex parameters are searched as their (real, imaginary) pairs, with
optax's convention: the `grad` passed in is the conjugate of `jax.grad`'s (what the pair's
gradient is), and the state's `grad` is what `jax.grad` returns, as value_and_grad_from_state
expects. Both searches are pure and jittable: one `lax.while_loop` of at most
`max_steps` evaluations of f. Both accept values within rounding error of the sufficient-
decrease bound (slack 8 eps |f(w)|), so that they still move when f(w + eta u) and f(w) agree
to machine precision near a minimum.
"""
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from jaxopt_lab._validation import Interval, check, check_int, is_concrete
from jaxopt_lab.optim.base import Scalar, safe_div, safe_sqrt, tree_real_vdot, wide

__all__ = ["scale_by_backtracking_linesearch", "scale_by_zoom_linesearch", "LinesearchState"]

OPEN_UNIT = Interval(0.0, 1.0, closed_low=False)        # (0, 1)
ABOVE_ONE = Interval(1.0, float("inf"), closed_low=False)  # (1, inf)
GROWTH = Interval(1.0, float("inf"), closed_high=True)  # [1, inf]: a warm start's factor
STEP_SIZE = Interval(0.0, float("inf"), closed_low=False)  # (0, inf)
STEP_CAP = Interval(0.0, float("inf"), closed_low=False, closed_high=True)  # (0, inf]
STEP_COUNT = Interval(1, float("inf"))                  # [1, inf)


class LinesearchState(NamedTuple):
  """What a search leaves behind; `value` and `grad` are found by value_and_grad_from_state."""
  learning_rate: jax.Array     # the accepted step eta; 0 where no step passed the test
  value: jax.Array             # f(w + eta u); +inf before the first search
  grad: optax.Updates          # grad f(w + eta u)
  num_evaluations: jax.Array   # int32: evaluations of f in the last search


def scalar_dtype(params) -> jnp.dtype:
  """The dtype of values and step sizes for `params`: their widest float, at least float32."""
  return jnp.finfo(jnp.result_type(*[wide(x) for x in jax.tree.leaves(params)])).dtype


def pair_gradient(grad):
  """The conjugate of `jax.grad`'s complex leaves: the gradient of the (real, imaginary) pairs
  (real leaves unchanged). It is its own inverse."""
  return jax.tree.map(lambda g: jnp.conj(g) if jnp.iscomplexobj(g) else g, grad)


def _init(params) -> LinesearchState:
  dtype = scalar_dtype(params)
  return LinesearchState(jnp.zeros([], dtype), jnp.asarray(jnp.inf, dtype),
                         optax.tree.zeros_like(params), jnp.zeros([], jnp.int32))


def _along(params, direction, value_fn: Callable, extra_args: dict, dtype):
  """eta -> (f(w + eta u), grad f(w + eta u), <grad f(w + eta u), u>), scalars in `dtype`."""
  value_and_grad = jax.value_and_grad(lambda p: value_fn(p, **extra_args))

  def evaluate(eta):
    point = jax.tree.map(lambda w, u: (wide(w) + eta * wide(u)).astype(w.dtype), params, direction)
    value, grad = value_and_grad(point)
    value = jnp.where(jnp.isfinite(value), value, jnp.inf).astype(dtype)  # NaN: too high
    grad = optax.tree.cast_like(grad, params)  # as jax.grad returns it
    return value, grad, tree_real_vdot(pair_gradient(grad), direction).astype(dtype)

  return evaluate


def _start(state: LinesearchState, params, direction, value, grad):
  """f(w) and <grad f(w), u> in the state's dtype, and grad f(w) in the parameters' dtypes
  (as jax.grad returns it: `grad` comes in as the pairs' gradient)."""
  dtype = state.value.dtype
  return (jnp.asarray(value).astype(dtype), tree_real_vdot(grad, direction).astype(dtype),
          optax.tree.cast_like(pair_gradient(grad), params))


def _rounding_slack(value: jax.Array) -> jax.Array:
  return 8 * jnp.finfo(value.dtype).eps * jnp.abs(value)


def _result(direction, eta, value, grad, count):
  updates = jax.tree.map(lambda u: (eta * wide(u)).astype(u.dtype), direction)
  return updates, LinesearchState(eta, value, grad, count)


def scale_by_backtracking_linesearch(
    max_steps: int = 30, decrease_factor: Scalar = 0.5, slope_rtol: Scalar = 1e-4,
    initial_learning_rate: Scalar = 1.0, increase_factor: Optional[Scalar] = None,
    max_learning_rate: Scalar = float("inf")) -> optax.GradientTransformationExtraArgs:
  """Armijo backtracking: eta = eta_0 * decrease_factor^k for the first k = 0, 1, ... with

    f(w + eta u) <= f(w) + slope_rtol * eta * <grad f(w), u>     (sufficient decrease)

  Returns eta * u; after `max_steps` failures, or for a direction that is not a descent
  direction (<grad f(w), u> >= 0), it returns a zero step (eta = 0).

  Each search starts at eta_0 = min(initial_learning_rate, max_learning_rate); with an
  increase_factor c (a warm start, optax's), each search after a successful one starts at
  eta_0 = min(c * eta_prev, max_learning_rate) instead, eta_prev the step it accepted: the
  steps can grow again after shrinking. optax.scale_by_backtracking_linesearch(increase_factor
  c, max_learning_rate m) is c, m and initial_learning_rate = m here; after a failed search
  optax would start from 0 and stay there, here the next search starts over from eta_0.
  """
  call = "scale_by_backtracking_linesearch"
  check_int(call, max_steps=(max_steps, STEP_COUNT))
  check(call, decrease_factor=(decrease_factor, OPEN_UNIT), slope_rtol=(slope_rtol, OPEN_UNIT),
        initial_learning_rate=(initial_learning_rate, STEP_SIZE),
        max_learning_rate=(max_learning_rate, STEP_CAP))
  if increase_factor is not None:
    check(call, increase_factor=(increase_factor, GROWTH))

  def update(updates, state, params, *, value, grad, value_fn, **extra_args):
    dtype = state.value.dtype
    evaluate = _along(params, updates, value_fn, extra_args, dtype)
    value, slope, grad = _start(state, params, updates, value, grad)
    bound = lambda eta: value + slope_rtol * eta * slope + _rounding_slack(value)
    first = jnp.minimum(initial_learning_rate, max_learning_rate)
    if increase_factor is not None:  # after a failed search (eta = 0) start over from `first`
      warm = jnp.minimum(increase_factor * state.learning_rate, max_learning_rate)
      first = jnp.where(state.learning_rate > 0, warm, first)

    def search(carry):
      count = carry[0]
      trial = (first * decrease_factor ** count).astype(dtype)
      new_value, new_grad, _ = evaluate(trial)
      ok = new_value <= bound(trial)
      return (count + 1, ok, jnp.where(ok, trial, 0.0),
              jnp.where(ok, new_value, value), optax.tree.where(ok, new_grad, grad))

    start = (jnp.zeros([], jnp.int32), jnp.zeros([], bool), jnp.zeros([], dtype), value, grad)
    count, _, eta, new_value, new_grad = jax.lax.while_loop(
        lambda carry: (carry[0] < max_steps) & ~carry[1] & (slope < 0), search, start)
    return _result(updates, eta, new_value, new_grad, count)

  return optax.GradientTransformationExtraArgs(_init, update)


class _Zoom(NamedTuple):
  """The zoom search's loop state: lo is the best step so far that passes sufficient decrease."""
  count: jax.Array
  done: jax.Array
  zooming: jax.Array   # False while growing eta to bracket, True once [lo, hi] brackets
  trial: jax.Array     # next step to try while bracketing
  lo: jax.Array
  value_lo: jax.Array
  slope_lo: jax.Array
  grad_lo: optax.Updates
  hi: jax.Array
  value_hi: jax.Array
  slope_hi: jax.Array


def cubic_step(lo, value_lo, slope_lo, hi, value_hi, slope_hi) -> jax.Array:
  """Minimizer of the cubic through (lo, value, slope) and (hi, value, slope) (Nocedal & Wright
  eq. 3.59), or the midpoint where the cubic has none (negative radicand, lo = hi, or not
  finite) or it lies within 10% of an end."""
  width = hi - lo
  d1 = slope_lo + slope_hi - 3 * safe_div(value_lo - value_hi, lo - hi)
  radicand = d1 ** 2 - slope_lo * slope_hi
  d2 = jnp.sign(width) * safe_sqrt(radicand)
  denominator = slope_hi - slope_lo + 2 * d2
  eta = hi - width * safe_div(slope_hi + d2 - d1, denominator)
  margin = 0.1 * jnp.abs(width)
  inside = (eta >= jnp.minimum(lo, hi) + margin) & (eta <= jnp.maximum(lo, hi) - margin)
  exists = (radicand >= 0) & (denominator != 0) & (width != 0) & jnp.isfinite(eta)
  return jnp.where(exists & inside, eta, lo + width / 2)


def scale_by_zoom_linesearch(
    max_steps: int = 30, slope_rtol: Scalar = 1e-4, curvature_rtol: Scalar = 0.9,
    increase_factor: Scalar = 2.0, initial_learning_rate: Scalar = 1.0,
    max_learning_rate: Scalar = float("inf")) -> optax.GradientTransformationExtraArgs:
  """Strong Wolfe line search (Nocedal & Wright 2006, Algorithms 3.5 and 3.6): a step eta with

    f(w + eta u) <= f(w) + c1 eta <grad f(w), u>           (sufficient decrease, c1 = slope_rtol)
    |<grad f(w + eta u), u>| <= c2 |<grad f(w), u>|        (curvature, c2 = curvature_rtol)

  eta starts at initial_learning_rate and grows by increase_factor until [lo, hi] brackets such
  steps, then safeguarded cubic interpolation zooms in on them. After `max_steps` evaluations
  it returns the best step that passed sufficient decrease (0 if none did, or if u is not a
  descent direction). Steps never exceed max_learning_rate (optax's): when the growing step
  reaches it still decreasing f along a falling slope, it is accepted as it is, since the
  curvature condition would need a longer step.
  """
  call = "scale_by_zoom_linesearch"
  check_int(call, max_steps=(max_steps, STEP_COUNT))
  check(call, slope_rtol=(slope_rtol, OPEN_UNIT), curvature_rtol=(curvature_rtol, OPEN_UNIT),
        increase_factor=(increase_factor, ABOVE_ONE),
        initial_learning_rate=(initial_learning_rate, STEP_SIZE),
        max_learning_rate=(max_learning_rate, STEP_CAP))
  if is_concrete(slope_rtol) and is_concrete(curvature_rtol) and slope_rtol >= curvature_rtol:
    raise ValueError(f"{call}(slope_rtol={slope_rtol!r}, curvature_rtol={curvature_rtol!r}): "
                     f"slope_rtol must be below curvature_rtol = {curvature_rtol!r} (or no step "
                     f"may satisfy both), got {slope_rtol!r}")

  def update(updates, state, params, *, value, grad, value_fn, **extra_args):
    dtype = state.value.dtype
    evaluate = _along(params, updates, value_fn, extra_args, dtype)
    value, slope, grad = _start(state, params, updates, value, grad)
    slack = _rounding_slack(value)

    def search(z: _Zoom) -> _Zoom:
      eta = jnp.where(z.zooming, cubic_step(z.lo, z.value_lo, z.slope_lo, z.hi, z.value_hi,
                                            z.slope_hi), z.trial)
      new_value, new_grad, new_slope = evaluate(eta)
      improves = ((new_value <= value + slope_rtol * eta * slope + slack)
                  & (new_value <= z.value_lo + slack))
      flat = jnp.abs(new_slope) <= curvature_rtol * jnp.abs(slope)
      # past a minimum along the line: the old lo becomes the far end of the bracket
      turns = improves & ~flat & jnp.where(z.zooming, new_slope * (z.hi - z.lo) >= 0,
                                           new_slope >= 0)
      capped = ~z.zooming & (eta >= max_learning_rate)  # no longer step to try
      to_hi = ~improves
      pick = lambda a, b, c: jnp.where(to_hi, a, jnp.where(turns, b, c))
      return _Zoom(
          count=z.count + 1, done=improves & (flat | (capped & ~turns)),
          zooming=z.zooming | to_hi | turns,
          trial=jnp.minimum(eta * increase_factor, max_learning_rate).astype(dtype),
          lo=jnp.where(improves, eta, z.lo), value_lo=jnp.where(improves, new_value, z.value_lo),
          slope_lo=jnp.where(improves, new_slope, z.slope_lo),
          grad_lo=optax.tree.where(improves, new_grad, z.grad_lo),
          hi=pick(eta, z.lo, z.hi), value_hi=pick(new_value, z.value_lo, z.value_hi),
          slope_hi=pick(new_slope, z.slope_lo, z.slope_hi))

    zero = jnp.zeros([], dtype)
    start = _Zoom(jnp.zeros([], jnp.int32), jnp.zeros([], bool), jnp.zeros([], bool),
                  jnp.minimum(initial_learning_rate, max_learning_rate).astype(dtype), zero,
                  value, slope, grad,
                  zero, value, slope)
    z = jax.lax.while_loop(lambda z: (z.count < max_steps) & ~z.done & (slope < 0), search,
                           start)
    return _result(updates, z.lo, z.value_lo, z.grad_lo, z.count)

  return optax.GradientTransformationExtraArgs(_init, update)
