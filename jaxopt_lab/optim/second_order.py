"""Second-order methods as gradient transformations: damped Newton and L-BFGS.

Both call the objective themselves, so their `update` takes optax's extra arguments, the way
`optax.lbfgs` is driven; a loop written for optax.lbfgs runs ours unchanged:

  solver = lbfgs()                       # or optax.lbfgs()
  state = solver.init(params)
  value_and_grad = optax.value_and_grad_from_state(f)
  for _ in range(20):
    value, grad = value_and_grad(params, state=state)
    updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=f)
    params = optax.apply_updates(params, updates)

Keyword arguments of `update` beyond value, grad and value_fn go to `value_fn` (a batch, say).
`value_and_grad_from_state` finds f and grad f in the state of a line search; plain newton()
has none, so feed it jax.value_and_grad(f)(params), or chain it with a line search.
`jaxopt_lab.optim.minimize` runs this loop under jit for you. Newton needs O(N^2) memory and O(N^3)
time per step with the full Hessian ("direct"); "cg" needs only Hessian-vector products.
L-BFGS keeps `memory_size` pairs of vectors and needs nothing but gradients.
"""
from typing import NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from jaxopt_lab._validation import NONNEGATIVE, caller, check, check_int, public_factory
from jaxopt_lab.optim.linesearch import (
    STEP_COUNT, scalar_dtype, scale_by_backtracking_linesearch, scale_by_zoom_linesearch,
    tree_vdot)
from jaxopt_lab.optim.base import Scalar, ScalarOrSchedule, cast_like, wide
from jaxopt_lab.optim.blocks import scale_by_learning_rate

__all__ = ["newton", "lbfgs", "scale_by_newton", "scale_by_lbfgs", "ScaleByLbfgsState"]

NEWTON_SOLVERS = ("direct", "cg")
LINESEARCHES = ("zoom", "backtracking", None)


def _choice(call: str, name: str, value, choices) -> None:
  call = caller(call)
  if value not in choices:
    shown = ", ".join(repr(c) for c in choices)
    raise ValueError(f"{call}({name}={value!r}): {name} must be one of {shown}, got {value!r}")


def scale_by_newton(damping: Scalar = 0.0, solver: str = "direct",
                    cg_max_steps: Optional[int] = None,
                    cg_tol: Scalar = 1e-6) -> optax.GradientTransformationExtraArgs:
  """u <- (H + damping I)^{-1} g, H = the Hessian of value_fn at the parameters.

  solver="direct" builds H with `jax.hessian` on the raveled parameters and solves with an LU
  factorisation: exact, O(N^2) memory, O(N^3) time. solver="cg" solves by conjugate gradient
  with Hessian-vector products (forward-over-reverse, `jax.linearize` of `jax.grad`): O(N)
  memory, at most cg_max_steps products (default N), stopping at relative residual cg_tol.
  CG needs H + damping I positive definite; "direct" only needs it invertible.
  """
  call = "scale_by_newton"
  check(call, damping=(damping, NONNEGATIVE), cg_tol=(cg_tol, NONNEGATIVE))
  _choice(call, "solver", solver, NEWTON_SOLVERS)
  if cg_max_steps is not None:
    check_int(call, cg_max_steps=(cg_max_steps, STEP_COUNT))

  def init(params):
    del params
    return optax.EmptyState()

  def update(grads, state, params, *, value_fn, value=None, grad=None, **extra_args):
    del value, grad  # Newton needs the whole Hessian, not the value: accepted for interop
    loss = lambda p: value_fn(p, **extra_args)
    if solver == "direct":
      flat_params, unravel = ravel_pytree(params)
      flat_grads = wide(ravel_pytree(grads)[0])
      hessian = wide(jax.hessian(lambda v: loss(unravel(v)))(flat_params))
      damped = hessian + damping * jnp.eye(flat_params.size, dtype=hessian.dtype)
      step = unravel(jnp.linalg.solve(damped, flat_grads).astype(flat_params.dtype))
    else:
      _, hvp = jax.linearize(jax.grad(loss), params)
      damped = lambda v: jax.tree.map(lambda h, x: h + damping * x, hvp(v), v)
      size = sum(x.size for x in jax.tree.leaves(params))
      step, _ = jax.scipy.sparse.linalg.cg(damped, grads, tol=cg_tol,
                                           maxiter=cg_max_steps or size)
    return cast_like(step, grads), state

  return optax.GradientTransformationExtraArgs(init, update)


@public_factory
def newton(learning_rate: ScalarOrSchedule = 1.0, damping: Scalar = 0.0, solver: str = "direct",
           cg_max_steps: Optional[int] = None,
           cg_tol: Scalar = 1e-6) -> optax.GradientTransformationExtraArgs:
  """Damped Newton: w <- w - lr (H + damping I)^{-1} g; see `scale_by_newton` for the solvers.

  On a quadratic with lr = 1 and damping = 0 one step lands on the minimum, from anywhere.
  `update` needs value_fn=f; compose with a line search for non-convex or far starts:
  optax.chain(newton(), scale_by_backtracking_linesearch()).
  """
  return optax.chain(scale_by_newton(damping, solver, cg_max_steps, cg_tol),
                     scale_by_learning_rate(learning_rate))


class ScaleByLbfgsState(NamedTuple):
  """A ring buffer of curvature pairs; the newest sits in slot (num_pairs - 1) % memory_size."""
  count: jax.Array            # int32: updates so far
  num_pairs: jax.Array        # int32: curvature pairs kept so far
  previous_params: optax.Params
  previous_grads: optax.Updates
  param_diffs: optax.Updates  # s_i = w_{i+1} - w_i, each leaf with a leading memory axis
  grad_diffs: optax.Updates   # y_i = g_{i+1} - g_i
  rhos: jax.Array             # 1 / (s_i^T y_i); 0 marks an empty slot


def _slot(tree, index):
  return jax.tree.map(lambda x: x[index], tree)


def _two_loop(grads, state: ScaleByLbfgsState, gamma, memory_size: int):
  """r = H_k g by the two-loop recursion (Nocedal & Wright, Algorithm 7.4), H_k^0 = gamma I.
  Empty slots have rho = 0 and leave q and r unchanged."""
  newest_first = (state.num_pairs - 1 - jnp.arange(memory_size)) % memory_size

  def backward(q, i):
    s, y, rho = _slot(state.param_diffs, i), _slot(state.grad_diffs, i), state.rhos[i]
    alpha = rho * tree_vdot(s, q)
    return jax.tree.map(lambda q, y: q - alpha * y, q, y), alpha

  def forward(r, i_alpha):
    i, alpha = i_alpha
    s, y, rho = _slot(state.param_diffs, i), _slot(state.grad_diffs, i), state.rhos[i]
    beta = rho * tree_vdot(y, r)
    return jax.tree.map(lambda r, s: r + (alpha - beta) * s, r, s), None

  q, alphas = jax.lax.scan(backward, jax.tree.map(wide, grads), newest_first)
  r = jax.tree.map(lambda q: gamma * q, q)
  r, _ = jax.lax.scan(forward, r, (newest_first[::-1], alphas[::-1]))
  return r


def scale_by_lbfgs(memory_size: int = 10) -> optax.GradientTransformation:
  """L-BFGS direction (Nocedal & Wright 2006, Algorithm 7.4): u <- H_k g, where H_k is the
  BFGS inverse-Hessian estimate built from the last `memory_size` pairs

    s_i = w_{i+1} - w_i,  y_i = g_{i+1} - g_i,  rho_i = 1 / (s_i^T y_i),
    H_k^0 = gamma I,  gamma = s^T y / y^T y of the newest pair (min(1, 1/|g|) before any pair).

  A pair is taken from consecutive calls' (params, grads); one with s^T y <= eps y^T y (no
  positive curvature, so BFGS would lose positive definiteness) is skipped, as in L-BFGS-B.
  """
  check_int("scale_by_lbfgs", memory_size=(memory_size, STEP_COUNT))

  def init(params):
    stack = lambda x: jnp.zeros((memory_size, *x.shape), wide(x).dtype)
    zeros = optax.tree.zeros_like
    return ScaleByLbfgsState(
        jnp.zeros([], jnp.int32), jnp.zeros([], jnp.int32), zeros(params), zeros(params),
        jax.tree.map(stack, params), jax.tree.map(stack, params),
        jnp.zeros([memory_size], scalar_dtype(params)))

  def update(grads, state, params=None):
    if params is None:
      raise ValueError("scale_by_lbfgs needs the parameters: call update(grads, state, params)")
    dtype = state.rhos.dtype
    s = jax.tree.map(lambda w, p: wide(w) - wide(p), params, state.previous_params)
    y = jax.tree.map(lambda g, p: wide(g) - wide(p), grads, state.previous_grads)
    sy, yy = tree_vdot(s, y).astype(dtype), tree_vdot(y, y).astype(dtype)
    keep = (state.count > 0) & (sy > jnp.finfo(dtype).eps * yy) & jnp.isfinite(sy)
    slot = state.num_pairs % memory_size
    put = lambda memory, new: jax.tree.map(
        lambda m, x: jnp.where(keep, m.at[slot].set(x.astype(m.dtype)), m), memory, new)
    state = ScaleByLbfgsState(
        optax.safe_int32_increment(state.count), state.num_pairs + keep.astype(jnp.int32),
        cast_like(params, state.previous_params), cast_like(grads, state.previous_grads),
        put(state.param_diffs, s), put(state.grad_diffs, y),
        jnp.where(keep, state.rhos.at[slot].set(1 / sy), state.rhos))
    newest = (state.num_pairs - 1) % memory_size
    newest_yy = tree_vdot(_slot(state.grad_diffs, newest), _slot(state.grad_diffs, newest))
    grad_norm = jnp.sqrt(tree_vdot(grads, grads)).astype(dtype)
    gamma = jnp.where(state.num_pairs > 0, 1 / (state.rhos[newest] * newest_yy),
                      jnp.minimum(1.0, 1 / grad_norm))
    return cast_like(_two_loop(grads, state, gamma, memory_size), grads), state

  return optax.GradientTransformation(init, update)


@public_factory
def lbfgs(learning_rate: Optional[ScalarOrSchedule] = None, memory_size: int = 10,
          linesearch: Union[str, None, optax.GradientTransformation] = "zoom",
          max_linesearch_steps: int = 30) -> optax.GradientTransformationExtraArgs:
  """L-BFGS: w <- w - eta lr H_k g, H_k from `scale_by_lbfgs`, eta from the line search:

    "zoom"          strong Wolfe conditions (`scale_by_zoom_linesearch`), the default
    "backtracking"  Armijo sufficient decrease (`scale_by_backtracking_linesearch`)
    None            eta = 1; or pass any line-search transformation (optax's too)

  learning_rate (default 1) scales the direction before the search, as in optax.lbfgs. The
  update takes value=f(w), grad=grad f(w), value_fn=f; the state's `value` and `grad` are those
  at the new parameters, for optax.value_and_grad_from_state. Full batch only: on minibatches
  the pairs mix gradients of different batches and the search sees noisy values.
  """
  call = "lbfgs"
  # memory_size is checked by scale_by_lbfgs, learning_rate by scale_by_learning_rate
  check_int(call, max_linesearch_steps=(max_linesearch_steps, STEP_COUNT))
  if not isinstance(linesearch, optax.GradientTransformation):
    _choice(call, "linesearch", linesearch, LINESEARCHES)
  searches = {"zoom": scale_by_zoom_linesearch, "backtracking": scale_by_backtracking_linesearch}
  search = (searches[linesearch](max_steps=max_linesearch_steps)
            if isinstance(linesearch, str) else linesearch)
  steps = [scale_by_lbfgs(memory_size),
           scale_by_learning_rate(1.0 if learning_rate is None else learning_rate)]
  return optax.chain(*steps, *([search] if search is not None else []))
