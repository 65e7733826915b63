"""The rate of any optimizer that is linear on a quadratic, from the Jacobian of one step.

Exposed as `jaxopt_lab.theory.linear_rate`:

  import numpy as np, jaxopt_lab as jl
  from jaxopt_lab import theory
  theory.linear_rate(jl.chain(jl.add_decayed_weights(0.1), jl.sgd(0.5)), np.diag([0.1, 1.0]))  # 0.9
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax

RANK_TOLERANCE = 1e-9  # relative to |J|: smaller directions do not count as excited
LINEARITY_TOLERANCE = 1e-9  # relative to |J|: the Jacobian may differ this much between points
LATER = 1000  # steps: the step must not change when the step counts advance this far


def linear_rate(optimizer: optax.GradientTransformation, hessian) -> float:
  """Spectral radius of one full step z = (w, optimizer state) -> z' on f = 1/2 w^T H w,
  z' = J z, restricted to the modes a run excites and the parameters show.

  J comes from `jax.jacfwd` in float64. `update` also gets optax's extra arguments (value,
  grad, value_fn), so methods that call the objective (`jaxopt_lab.newton`) work. Integer
  state (step counts) is held at its initial value; a constant schedule is fine, one that
  changes the step as the counts advance has no single rate and is rejected.

  A run starts at z_0 = B w_0 (B = d init / d w_0) and shows C z_k = w_k, so only the minimal
  part of (J, B, C) matters: the Krylov space span{B, J B, J^2 B, ...} (what the parameters
  excite), then within it the part C observes. A step count, a buffer nothing writes or an
  average nothing reads adds no eigenvalue.

  Raises ValueError when the step is not linear there. Three checks, on the excited modes:
  the Jacobian must agree at two points reached from different starts and scales (adaptive
  methods such as adam, adagrad, rmsprop divide by running gradient magnitudes; trust ratios,
  lars and lamb, by norms); it must not change when the integer state (step counts) is
  advanced by LATER steps (a decaying schedule, RAdam's warm-up: no single rate); and the
  step must superpose, step(z+) - step(z-) = J (z+ - z-) for the points reached from w0 and
  -w0 (sign methods, sign_sgd and lion, have J = 0 in their sign and fail only this one).
  """
  if not isinstance(optimizer, optax.GradientTransformation):
    raise ValueError(f"linear_rate(optimizer=...): optimizer must be an "
                     f"optax.GradientTransformation, got {type(optimizer).__name__}")
  try:
    hessian = np.asarray(hessian, np.float64)
  except (TypeError, ValueError):
    raise ValueError("linear_rate(hessian=...): hessian must be a square matrix of real "
                     f"numbers, got {type(hessian).__name__}") from None
  if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1] or not hessian.size:
    raise ValueError(f"linear_rate: hessian must be a square matrix, got shape {hessian.shape}")
  if not np.isfinite(hessian).all():
    raise ValueError("linear_rate(hessian=...): hessian must be finite, got "
                     f"{hessian[~np.isfinite(hessian)].flat[0]}")
  starts = np.random.default_rng(0).normal(size=(2, hessian.shape[0])) * [[1.0], [100.0]]
  with jax.enable_x64(True):
    step, start = _packed_step(optimizer, jnp.asarray(hessian))
    later_step, _ = _packed_step(optimizer, jnp.asarray(hessian), later=LATER)

    def reached(w):  # a point a run reaches: the buffers filled by two steps
      z = start(w)
      for _ in range(2):
        z = step(z)
      return z

    @jax.jit  # everything in one compiled program, each map once (vmapped over points)
    def analysis(starts):
      points = jax.vmap(reached)(jnp.concatenate([starts, -starts[:1]]))  # w0, w1, -w0
      jacobians = jax.vmap(jax.jacfwd(step))(points[:2])
      later = jax.jacfwd(later_step)(points[0])  # the step counts advanced
      excitations = jax.vmap(jax.jacfwd(start))(starts)
      moved = jax.vmap(step)(points[::2])
      superposed = moved[0] - moved[1] - jacobians[0] @ (points[0] - points[2])
      return ([*jacobians, later], [*excitations, excitations[0]], superposed,
              points[0] - points[2])

    jacobians, excitations, superposed, difference = jax.tree.map(
        np.asarray, analysis(jnp.asarray(starts)))
  if not all(np.isfinite(j).all() for j in jacobians + excitations):
    raise ValueError("linear_rate: the step's Jacobian is not finite at a point a run reaches")
  jacobian, excitation = jacobians[0], excitations[0]
  scale = max(1.0, np.abs(jacobian).max(initial=0.0))
  excited = _krylov_basis(jacobian, excitation, RANK_TOLERANCE * scale)
  for j, b in zip(jacobians[1:], excitations[1:]):
    change = max(np.abs((j - jacobian) @ excited).max(initial=0.0),
                 np.abs(b - excitation).max(initial=0.0))
    if change > LINEARITY_TOLERANCE * scale:
      raise _not_linear(f"its Jacobian differs by {change:.3g} between two points or step "
                        f"counts, against entries up to {scale:.3g}")
  size = np.abs(difference).max(initial=0.0)
  if np.abs(superposed).max(initial=0.0) > LINEARITY_TOLERANCE * scale * max(size, 1.0):
    raise _not_linear(f"the steps from w0 and -w0 differ by {np.abs(superposed).max():.3g} "
                      "more than its Jacobian says, though the Jacobian agrees")
  observe = np.eye(hessian.shape[0], jacobian.shape[0])  # C: the parameters come first in z
  reduced = excited.T @ jacobian @ excited
  observed = _krylov_basis(reduced.T, (observe @ excited).T, RANK_TOLERANCE * scale)
  minimal = observed.T @ reduced.T @ observed  # the observable part, transposed
  return float(np.abs(np.linalg.eigvals(minimal)).max(initial=0.0))


def _not_linear(detail: str) -> ValueError:
  return ValueError(
      f"linear_rate: the optimizer's step is not linear on a quadratic ({detail}), so no "
      "single rate describes it: adaptive methods (adam, adagrad, rmsprop) divide by running "
      "gradient magnitudes, sign methods (sign_sgd, lion) take signs, trust ratios (lars, lamb) "
      "divide by norms, L-BFGS and line searches depend on the iterates, and schedules and "
      "warm-ups (radam) on the step count")


def _packed_step(optimizer, hessian, later: int = 0):
  """One step and the start as maps of a flat float vector z = (w, float state leaves); the
  integer state (step counts) is held at its initial value plus `later`."""
  n = hessian.shape[0]
  optimizer = optax.with_extra_args_support(optimizer)  # value_fn etc. for Newton, L-BFGS
  template = optimizer.init(jnp.zeros(n, hessian.dtype))
  leaves, treedef = jax.tree.flatten(template)
  floating = [jnp.issubdtype(jnp.result_type(leaf), jnp.inexact) for leaf in leaves]

  def pack(w, state):
    state_leaves = jax.tree.leaves(state)
    return jnp.concatenate([w] + [jnp.ravel(leaf).astype(w.dtype)
                                  for leaf, f in zip(state_leaves, floating) if f])

  def unpack(z):
    w, offset, state_leaves = z[:n], n, []
    for leaf, f in zip(leaves, floating):
      if f:
        size = int(np.size(leaf))
        state_leaves.append(z[offset:offset + size].reshape(jnp.shape(leaf)).astype(
            jnp.result_type(leaf)))
        offset += size
      else:  # integer state (a step count) stays at its initial value (+ later)
        integer = jnp.issubdtype(jnp.result_type(leaf), jnp.integer)
        state_leaves.append(leaf + later if integer else leaf)
    return w, jax.tree.unflatten(treedef, state_leaves)

  def step(z):
    w, state = unpack(z)
    grad = hessian @ w
    updates, state = optimizer.update(grad, state, w, value=0.5 * w @ grad, grad=grad,
                                      value_fn=lambda v: 0.5 * v @ hessian @ v)
    return pack(optax.apply_updates(w, updates), state)

  return step, lambda w: pack(w, optimizer.init(w))


def _krylov_basis(matrix, columns, tolerance):
  """Orthonormal basis of span{columns, matrix columns, matrix^2 columns, ...}."""
  basis = _orthonormal(columns, tolerance)
  newest = basis
  while newest.shape[1] and basis.shape[1] < matrix.shape[0]:
    candidates = matrix @ newest
    for _ in range(2):  # twice is enough (Gram-Schmidt's "twice is enough")
      candidates = candidates - basis @ (basis.T @ candidates)
    newest = _orthonormal(candidates, tolerance)
    basis = np.concatenate([basis, newest], axis=1)
  return basis


def _orthonormal(columns, tolerance):
  u, singular, _ = np.linalg.svd(columns, full_matrices=False)
  return u[:, singular > tolerance]
