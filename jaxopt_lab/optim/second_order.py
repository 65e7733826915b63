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
from typing import Callable, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from jaxopt_lab._validation import (
    NONNEGATIVE, caller, check, check_flag, check_int, public_factory)
from jaxopt_lab.optim.base import (
    Scalar, ScalarOrSchedule, cast_like, safe_div, safe_norm, safe_sqrt, tree_real_vdot, wide)
from jaxopt_lab.optim.blocks import with_learning_rate
from jaxopt_lab.optim.linesearch import (
    STEP_COUNT, scalar_dtype, scale_by_backtracking_linesearch, scale_by_zoom_linesearch)

__all__ = ["newton", "lbfgs", "scale_by_newton", "scale_by_lbfgs", "ScaleByLbfgsState"]

NEWTON_SOLVERS = ("direct", "cg")
LINESEARCHES = ("zoom", "backtracking", None)


def _choice(call: str, name: str, value, choices) -> None:
  call = caller(call)
  if value not in choices:
    shown = ", ".join(repr(c) for c in choices)
    raise ValueError(f"{call}({name}={value!r}): {name} must be one of {shown}, got {value!r}")


def _real_view(tree):
  """`tree` as one real vector x (a complex tree as its real parts, then its imaginary parts:
  the (real, imaginary) pairs) and the map from such a vector back to a tree."""
  flat, unravel = ravel_pytree(tree)
  if not jnp.iscomplexobj(flat):
    return flat, unravel
  n = flat.size
  return jnp.concatenate([flat.real, flat.imag]), lambda x: unravel(x[:n] + 1j * x[n:])


def _conjugate_gradient(matvec: Callable, b: jax.Array, tol, max_steps) -> jax.Array:
  """x ~ A^{-1} b by conjugate gradient (Hestenes & Stiefel 1952) until |r| <= tol |b| or
  max_steps products. It stops at a direction p without positive curvature, as scipy's
  Newton-CG does: p^T A p <= 0, or a Rayleigh quotient p^T A p / p^T p below 10 eps times the
  largest met so far (zero curvature up to rounding). It then returns x so far, or, at the
  first direction, (b^T b / |p^T A p|) b for negative curvature (steepest descent) and 0 for
  zero curvature (no Newton step exists)."""
  threshold = tol * jnp.sqrt(b @ b)
  eps = jnp.finfo(b.dtype).eps

  def step(carry):
    x, r, p, rs, k, _, largest = carry
    ap = matvec(p)
    curvature = p @ ap
    rayleigh = safe_div(curvature, p @ p)
    flat = (curvature <= 0) | (rayleigh <= 10 * eps * largest)
    alpha = safe_div(rs, curvature)
    x_next, r_next = x + alpha * p, r - alpha * ap
    rs_next = r_next @ r_next
    descent = jnp.where((k == 0) & (curvature < 0), safe_div(rs, -curvature) * b, x)
    x = jnp.where(flat, descent, x_next)
    stop = flat | (jnp.sqrt(rs_next) <= threshold)
    return (x, r_next, r_next + safe_div(rs_next, rs) * p, rs_next, k + 1, stop,
            jnp.maximum(largest, rayleigh))

  start = (jnp.zeros_like(b), b, b, b @ b, jnp.zeros([], jnp.int32), jnp.sqrt(b @ b) <= threshold,
           jnp.zeros([], b.dtype))
  return jax.lax.while_loop(lambda c: ~c[5] & (c[4] < max_steps), step, start)[0]


def scale_by_newton(damping: Scalar = 0.0, solver: str = "direct",
                    cg_max_steps: Optional[int] = None,
                    cg_tol: Scalar = 1e-6) -> optax.GradientTransformationExtraArgs:
  """u <- (H + damping I)^+ g, H = the Hessian of value_fn at the parameters.

  solver="direct" builds H with `jax.hessian` on the raveled parameters and applies its
  pseudo-inverse (`jnp.linalg.pinv`, eigendecomposition of the symmetric H): exact, O(N^2)
  memory, O(N^3) time. Where H is singular (a coordinate the loss ignores, zero curvature)
  the step is the least-norm solution, numpy.linalg.lstsq's, with no step along the null
  space, instead of the inf/NaN of an LU solve; so are its derivatives. solver="cg" solves by
  conjugate gradient with Hessian-vector products (forward-over-reverse): O(N) memory, at most
  cg_max_steps products (default N), stopping at relative residual cg_tol or at the first
  direction of non-positive curvature (see `_conjugate_gradient`); differentiated implicitly
  (`lax.custom_linear_solve`). Complex parameters are solved as their (real, imaginary) pairs.
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
    x, unravel = _real_view(params)
    loss = lambda v: value_fn(unravel(v), **extra_args)
    g = wide(_real_view(grads)[0])
    if solver == "direct":
      hessian = wide(jax.hessian(loss)(x))
      damped = (hessian + hessian.T) / 2 + damping * jnp.eye(x.size, dtype=hessian.dtype)
      step = jnp.linalg.pinv(damped, hermitian=True) @ g
    else:
      _, hvp = jax.linearize(jax.grad(loss), x)
      damped = lambda v: wide(hvp(v.astype(x.dtype))) + damping * v
      solve = lambda matvec, b: _conjugate_gradient(matvec, b, cg_tol, cg_max_steps or x.size)
      step = jax.lax.custom_linear_solve(damped, g, solve, symmetric=True)
    return cast_like(unravel(step.astype(x.dtype)), grads), state

  return optax.GradientTransformationExtraArgs(init, update)


@public_factory
def newton(learning_rate: ScalarOrSchedule = 1.0, damping: Scalar = 0.0, solver: str = "direct",
           cg_max_steps: Optional[int] = None,
           cg_tol: Scalar = 1e-6) -> optax.GradientTransformationExtraArgs:
  """Damped Newton: w <- w - lr (H + damping I)^+ g; see `scale_by_newton` for the solvers.

  On a quadratic with lr = 1 and damping = 0 one step lands on the minimum, from anywhere.
  `update` needs value_fn=f; compose with a line search for non-convex or far starts:
  optax.chain(newton(), scale_by_backtracking_linesearch()).
  """
  return with_learning_rate(scale_by_newton(damping, solver, cg_max_steps, cg_tol),
                            learning_rate=learning_rate)


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
    alpha = rho * tree_real_vdot(s, q)
    return jax.tree.map(lambda q, y: q - alpha * y, q, y), alpha

  def forward(r, i_alpha):
    i, alpha = i_alpha
    s, y, rho = _slot(state.param_diffs, i), _slot(state.grad_diffs, i), state.rhos[i]
    beta = rho * tree_real_vdot(y, r)
    return jax.tree.map(lambda r, s: r + (alpha - beta) * s, r, s), None

  q, alphas = jax.lax.scan(backward, jax.tree.map(wide, grads), newest_first)
  r = jax.tree.map(lambda q: gamma * q, q)
  r, _ = jax.lax.scan(forward, r, (newest_first[::-1], alphas[::-1]))
  return r


def scale_by_lbfgs(memory_size: int = 10,
                   scale_init_precond: bool = True) -> optax.GradientTransformation:
  """L-BFGS direction (Nocedal & Wright 2006, Algorithm 7.4): u <- H_k g, where H_k is the
  BFGS inverse-Hessian estimate built from the last `memory_size` pairs

    s_i = w_{i+1} - w_i,  y_i = g_{i+1} - g_i,  rho_i = 1 / (s_i^T y_i),
    H_k^0 = gamma I,  gamma = s^T y / y^T y of the newest pair (min(1, 1/|g|) before any pair)

  with scale_init_precond=True (optax's default); gamma = 1 otherwise, as optax.scale_by_lbfgs.
  A pair is taken from consecutive calls' (params, grads); one with s^T y <= eps |s| |y| (no
  positive curvature, so BFGS would lose positive definiteness; eps of the state's dtype) is
  skipped, as in L-BFGS-B. The test is relative, so the iterates do not change when the
  objective is scaled (f -> c f multiplies every y by c). Complex leaves are (real, imaginary)
  pairs: s^T y = re <s, y>.
  """
  check_int("scale_by_lbfgs", memory_size=(memory_size, STEP_COUNT))
  check_flag("scale_by_lbfgs", traceable=True, scale_init_precond=scale_init_precond)

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
    sy = tree_real_vdot(s, y).astype(dtype)
    lengths = safe_sqrt(tree_real_vdot(s, s)) * safe_sqrt(tree_real_vdot(y, y))
    keep = ((state.count > 0) & (sy > jnp.finfo(dtype).eps * lengths.astype(dtype))
            & jnp.isfinite(sy))
    slot = state.num_pairs % memory_size
    put = lambda memory, new: jax.tree.map(
        lambda m, x: jnp.where(keep, m.at[slot].set(x.astype(m.dtype)), m), memory, new)
    state = ScaleByLbfgsState(
        optax.safe_int32_increment(state.count), state.num_pairs + keep.astype(jnp.int32),
        cast_like(params, state.previous_params), cast_like(grads, state.previous_grads),
        put(state.param_diffs, s), put(state.grad_diffs, y),
        jnp.where(keep, state.rhos.at[slot].set(safe_div(1.0, sy)), state.rhos))
    newest = (state.num_pairs - 1) % memory_size
    newest_y = _slot(state.grad_diffs, newest)
    newest_yy = tree_real_vdot(newest_y, newest_y).astype(dtype)
    grad_norm = safe_norm(grads).astype(dtype)
    first = jnp.where(grad_norm > 1, safe_div(1.0, grad_norm), 1.0)  # min(1, 1 / |g|)
    gamma = jnp.where(state.num_pairs > 0, safe_div(1.0, state.rhos[newest] * newest_yy), first)
    gamma = jnp.where(scale_init_precond, gamma, 1.0)
    return cast_like(_two_loop(grads, state, gamma, memory_size), grads), state

  return optax.GradientTransformation(init, update)


@public_factory
def lbfgs(learning_rate: Optional[ScalarOrSchedule] = None, memory_size: int = 10,
          linesearch: Union[str, None, optax.GradientTransformation] = "zoom",
          max_linesearch_steps: int = 30,
          scale_init_precond: bool = True) -> optax.GradientTransformationExtraArgs:
  """L-BFGS: w <- w - eta lr H_k g, H_k from `scale_by_lbfgs`, eta from the line search:

    "zoom"          strong Wolfe conditions (`scale_by_zoom_linesearch`), the default
    "backtracking"  Armijo sufficient decrease (`scale_by_backtracking_linesearch`)
    None            eta = 1; or pass any line-search transformation (optax's too)

  learning_rate (default 1) scales the direction before the search, as in optax.lbfgs;
  scale_init_precond chooses H_k^0 (`scale_by_lbfgs`). The update takes value=f(w), grad=
  grad f(w), value_fn=f; the state's `value` and `grad` are those at the new parameters, for
  optax.value_and_grad_from_state. Full batch only: on minibatches the pairs mix gradients of
  different batches and the search sees noisy values.
  """
  call = "lbfgs"
  # memory_size is checked by scale_by_lbfgs, learning_rate by scale_by_learning_rate
  check_int(call, max_linesearch_steps=(max_linesearch_steps, STEP_COUNT))
  if not isinstance(linesearch, optax.GradientTransformation):
    _choice(call, "linesearch", linesearch, LINESEARCHES)
  searches = {"zoom": scale_by_zoom_linesearch, "backtracking": scale_by_backtracking_linesearch}
  search = (searches[linesearch](max_steps=max_linesearch_steps)
            if isinstance(linesearch, str) else linesearch)
  direction = with_learning_rate(scale_by_lbfgs(memory_size, scale_init_precond),
                                 learning_rate=1.0 if learning_rate is None else learning_rate)
  return optax.chain(direction, *([search] if search is not None else []))
