"""`minimize`: a whole full-batch solve under jit, with any of the library's methods.

  result = minimize(loss, params, method="lbfgs", args=(x, y), tol=1e-6)
  result.params, result.value, result.grad_norm, result.num_steps, result.converged

`loss(params, *args)` returns a scalar; `args` carry the data, so there is no value_fn
plumbing to write, and `jax.vmap` over data sets, starting points or hyperparameters works:
  jax.vmap(lambda w0: minimize(loss, w0, args=(x, y)).params)(starts)
Options go to the method's factory: minimize(loss, w, method="gd", learning_rate=0.1).
Python ints, strings and None among them are static (shapes and choices); floats and arrays
are traced, so new values reuse the compiled solve. Pass the same `loss` object each time to
reuse it too.
"""
import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab._validation import NONNEGATIVE, Interval, check, check_int
from jaxopt_lab.optim.aliases import BY_NAME
from jaxopt_lab.optim.second_order import lbfgs, newton
from jaxopt_lab.optim.clipping import global_norm

__all__ = ["minimize", "MinimizeResult"]

METHODS = {"gd": BY_NAME["sgd"], **{name: factory for name, factory in BY_NAME.items()
                                     if name != "sgd"}, "newton": newton, "lbfgs": lbfgs}
"""Every method by name; "gd" is `sgd` on the full batch."""


class MinimizeResult(NamedTuple):
  params: Any
  value: jax.Array      # f at params
  grad_norm: jax.Array  # |grad f| at params (all leaves together)
  num_steps: jax.Array  # int32: updates made
  converged: jax.Array  # bool: grad_norm <= tol


class _Carry(NamedTuple):
  params: Any
  state: Any
  value: jax.Array
  grad: Any
  num_steps: jax.Array
  moved: jax.Array


def minimize(fun: Callable[..., jax.Array], params, method: str = "lbfgs", *, args: tuple = (),
             max_steps: int = 500, tol: float = 1e-6, **options) -> MinimizeResult:
  """Iterates w_{t+1} = w_t + update(grad f(w_t)) of `method` under jit until

    |grad f(w_t)| <= tol,  or t = max_steps,  or f(w_t) is not finite,
    or a step leaves w unchanged (a line search that found no decrease).

  Line-search methods hand back the value and gradient at the new point, which are reused
  rather than computed again. Returns the last iterate with its value and gradient norm.
  """
  if method not in METHODS:
    raise ValueError(f"minimize(method={method!r}): method must be one of "
                     f"{', '.join(map(repr, METHODS))}, got {method!r}")
  check_int("minimize", max_steps=(max_steps, Interval(0, math.inf)))
  check("minimize", tol=(tol, NONNEGATIVE))
  METHODS[method](**options)  # concrete hyperparameters are checked here, outside jit
  static = tuple(sorted((name, value) for name, value in options.items() if _is_static(value)))
  traced = {name: value for name, value in options.items() if not _is_static(value)}
  return _solve(fun, method, max_steps, static, params, args, tol, traced)


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
  value, grad = jax.value_and_grad(value_fn)(params)

  def running(c: _Carry):
    return ((c.num_steps < max_steps) & (global_norm(c.grad) > tol) & jnp.isfinite(c.value)
            & c.moved)

  def step(c: _Carry) -> _Carry:
    updates, state = optimizer.update(c.grad, c.state, c.params, value=c.value, grad=c.grad,
                                      value_fn=value_fn)
    params = optax.apply_updates(c.params, updates)
    stored_value = _state_field(state, "value")
    if stored_value is None:
      new_value, new_grad = jax.value_and_grad(value_fn)(params)
    else:  # a line search evaluated f at the accepted point already
      new_value, new_grad = stored_value, _state_field(state, "grad")
    return _Carry(params, state, new_value.astype(c.value.dtype),
                  optax.tree.cast_like(new_grad, c.grad), c.num_steps + 1,
                  global_norm(updates) > 0)

  start = _Carry(params, optimizer.init(params), value, grad, jnp.zeros([], jnp.int32),
                 jnp.ones([], bool))
  end = jax.lax.while_loop(running, step, start)
  norm = global_norm(end.grad)
  return MinimizeResult(end.params, end.value, norm, end.num_steps, norm <= tol)
