"""`minimize`: a whole full-batch solve under jit, with any of the library's methods.

  result = minimize(loss, params, method="lbfgs", args=(x, y), tol=1e-6)
  result.params, result.value, result.grad_norm, result.num_steps, result.converged
  SolverStatus(int(result.status)).name    # CONVERGED, MAX_STEPS, NONFINITE, ...

`loss(params, *args)` returns a scalar; `args` carry the data, so there is no value_fn
plumbing to write, and `jax.vmap` over data sets, starting points or hyperparameters works:
  jax.vmap(lambda w0: minimize(loss, w0, args=(x, y)).params)(starts)
Options go to the method's factory: minimize(loss, w, method="gd", learning_rate=0.1).
Python ints, strings and None among them are static (shapes and choices); floats and arrays
are traced, so new values reuse the compiled solve. Pass the same `loss` object each time to
reuse it too.
"""
import enum
import functools
import inspect
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import NONNEGATIVE, Interval, check, check_int
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.optim.clipping import global_norm
from jaxopt_lab.optim.linesearch import pair_gradient
from jaxopt_lab.optim.nonfinite import INT32_MAX, all_finite
from jaxopt_lab.optim.second_order import lbfgs, newton

__all__ = ["minimize", "MinimizeResult", "SolverStatus"]

METHODS = {"gd": BY_NAME["sgd"], **{name: factory for name, factory in BY_NAME.items()
                                     if name != "sgd"}, "newton": newton, "lbfgs": lbfgs}
"""Every method by name; "gd" is `sgd` on the full batch."""


class SolverStatus(enum.IntEnum):
  """Why `minimize` stopped; `MinimizeResult.status` holds the code (an int32 array, so that
  vmapped solves keep one each): SolverStatus(int(result.status)).name."""
  CONVERGED = 0          # |grad f| <= tol at a point where f and grad f are finite
  MAX_STEPS = 1          # max_steps updates were made first
  NONFINITE = 2          # f or grad f is NaN or inf (at the start, or after the next update,
                         # which is then not applied: the result is the last finite iterate)
  LINESEARCH_FAILED = 3  # the line search found no step that decreases f (the step was 0)
  STALLED = 4            # a method without line search made a zero step (Newton at a point
                         # whose gradient lies in the Hessian's null space, or underflow)


RUNNING = -1  # the loop's status while it runs


class MinimizeResult(NamedTuple):
  params: Any
  value: jax.Array      # f at params
  grad_norm: jax.Array  # |grad f| at params (all leaves together)
  num_steps: jax.Array  # int32: updates made (and applied)
  converged: jax.Array  # bool: grad_norm <= tol at a finite point (status CONVERGED)
  status: jax.Array     # int32: a SolverStatus code


class _Carry(NamedTuple):
  params: Any
  state: Any
  value: jax.Array
  grad: Any
  num_steps: jax.Array
  status: jax.Array


def minimize(fun: Callable[..., jax.Array], params, method: str = "lbfgs", *, args: tuple = (),
             max_steps: int = 500, tol: float = 1e-6, **options) -> MinimizeResult:
  """Iterates w_{t+1} = w_t + update(grad f(w_t)) of `method` under jit until, in this order,

    f or grad f is not finite          NONFINITE (that update is not applied)
    |grad f(w_t)| <= tol               CONVERGED (`converged` is True only here)
    a step leaves w unchanged          LINESEARCH_FAILED (no decrease found) or STALLED
    t = max_steps                      MAX_STEPS

  and returns the last (finite) iterate with its value, gradient norm and `SolverStatus`
  code: a solve never claims convergence at a NaN or infinite value (scipy#5161). Line-search
  methods hand back the value and gradient at the new point, which are reused rather than
  computed again. Complex parameters are solved as (real, imaginary) pairs: the methods
  receive the conjugate of jax.grad's gradient, as optax's tests pass it.
  """
  if method not in METHODS:
    raise ValueError(f"minimize(method={method!r}): method must be one of "
                     f"{', '.join(map(repr, METHODS))}, got {method!r}")
  if not callable(fun):
    raise ValueError(f"minimize(fun={fun!r:.40}): fun must be a function params, *args -> "
                     f"scalar, got {fun!r:.40}")
  _check_params(params)
  check_int("minimize", max_steps=(max_steps, Interval(0, math.inf)))
  check("minimize", tol=(tol, NONNEGATIVE))
  accepted = inspect.signature(METHODS[method]).parameters
  for name, value in options.items():
    if name not in accepted:
      raise ValueError(f"minimize({name}={value!r:.40}): {name} must be an option of method "
                       f"{method!r} ({', '.join(accepted)}), got {name}={value!r:.40}")
  METHODS[method](**options)  # concrete hyperparameters are checked here, outside jit
  static = tuple(sorted((name, value) for name, value in options.items() if _is_static(value)))
  traced = {name: value for name, value in options.items() if not _is_static(value)}
  # the int32 step count cannot pass 2**31 - 1: a larger max_steps means "until it stops"
  return _solve(fun, method, min(int(max_steps), INT32_MAX), static, params, args, tol, traced)


def _check_params(params) -> None:
  """Every leaf a floating or complex array: the solve differentiates with respect to it."""
  paths = jax.tree_util.tree_flatten_with_path(params)[0]
  if not paths:
    raise ValueError("minimize(params=...): params must hold at least one floating array, "
                     "got none")
  for path, leaf in paths:
    dtype = jnp.result_type(leaf)
    if not jnp.issubdtype(dtype, jnp.inexact):
      raise ValueError(f"minimize(params=...): params must be floating or complex arrays, got "
                       f"{dtype} at {jax.tree_util.keystr(path) or 'the root'}")


def _is_static(value) -> bool:
  return not isinstance(value, (float, complex, np.ndarray, np.generic, jax.Array))


def _state_field(state, name: str):
  """The field `name` of a NamedTuple in `state` (not a dict key of params), or None."""
  in_named_tuple = lambda path, _: isinstance(path[-1], optax.tree_utils.NamedTupleKey)
  return optax.tree.get(state, name, filtering=in_named_tuple)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _solve(fun, method, max_steps, static, params, args, tol, traced) -> MinimizeResult:
  optimizer = METHODS[method](**dict(static), **traced)
  value_fn = lambda p: fun(p, *args)

  def evaluate(p):
    value, grad = jax.value_and_grad(value_fn)(p)
    return value, pair_gradient(grad)

  value, grad = evaluate(params)
  state = optimizer.init(params)
  searches = _state_field(state, "learning_rate") is not None  # a line search's state
  zero_step = SolverStatus.LINESEARCH_FAILED if searches else SolverStatus.STALLED

  def status_at(params, value, grad, num_steps, moved):
    finite = jnp.isfinite(value) & all_finite(grad) & all_finite(params)
    return jnp.select(
        [~finite, global_norm(grad) <= tol, ~moved, num_steps >= max_steps],
        [SolverStatus.NONFINITE, SolverStatus.CONVERGED, zero_step, SolverStatus.MAX_STEPS],
        RUNNING).astype(jnp.int32)

  def step(c: _Carry) -> _Carry:
    updates, state = optimizer.update(c.grad, c.state, c.params, value=c.value, grad=c.grad,
                                      value_fn=value_fn)
    params = optax.apply_updates(c.params, updates)
    stored_value = _state_field(state, "value")
    if stored_value is None:
      new_value, new_grad = evaluate(params)
    else:  # a line search evaluated f at the accepted point already (jax.grad's convention)
      new_value, new_grad = stored_value, pair_gradient(_state_field(state, "grad"))
    new = _Carry(params, state, new_value.astype(c.value.dtype),
                 optax.tree.cast_like(new_grad, c.grad), c.num_steps + 1, c.status)
    status = status_at(new.params, new.value, new.grad, new.num_steps, global_norm(updates) > 0)
    kept = jax.tree.map(lambda n, o: jnp.where(status == SolverStatus.NONFINITE, o, n), new, c)
    return kept._replace(status=status)

  start = _Carry(params, state, value, grad, jnp.zeros([], jnp.int32),
                 status_at(params, value, grad, 0, jnp.ones([], bool)))
  end = jax.lax.while_loop(lambda c: c.status == RUNNING, step, start)
  return MinimizeResult(end.params, end.value, global_norm(end.grad), end.num_steps,
                        end.status == SolverStatus.CONVERGED, end.status)
