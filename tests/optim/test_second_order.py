"""Newton and L-BFGS: Newton exact on quadratics, Newton-CG equal to direct Newton, the
two-loop recursion equal to the dense inverse-BFGS formula, L-BFGS at scipy's optimum, and a
loop written for optax.lbfgs driving ours unchanged."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize
from jax.flatten_util import ravel_pytree

import jaxopt_lab as jl
from helpers import multi_leaf_problem
from jaxopt_lab.train.data import digits
from jaxopt_lab.theory.problems import quadratic, rosenbrock
from jaxopt_lab.studies.full_batch import softmax_regression_loss

ILL_CONDITIONED = quadratic(np.logspace(0, 4, 6), rotation_seed=1)  # kappa = 1e4, rotated
CENTRE = np.array([3.0, -1.0, 0.5, 2.0, -4.0, 1.5])


def shifted_quadratic(w):
  """1/2 (w - c)^T H (w - c): its minimum is at c, not at the origin."""
  return ILL_CONDITIONED.loss(w - CENTRE)


def one_step(optimizer, loss, params):
  value, grad = jax.value_and_grad(loss)(params)
  updates, _ = optimizer.update(grad, optimizer.init(params), params, value=value, grad=grad,
                                value_fn=loss)
  return optax.apply_updates(params, updates)


@pytest.mark.parametrize("solver", ["direct", "cg"])
def test_newton_lands_on_a_quadratic_minimum_in_one_step(solver, x64):
  starts = jnp.asarray(np.random.default_rng(0).normal(scale=10.0, size=(8, 6)))
  optimizer = jl.newton(solver=solver, cg_tol=1e-14, cg_max_steps=60)
  ends = jax.jit(jax.vmap(lambda w: one_step(optimizer, shifted_quadratic, w)))(starts)
  distance = np.linalg.norm(ends - CENTRE, axis=-1) / np.linalg.norm(starts - CENTRE, axis=-1)
  assert distance.max() < 1e-9
  gradient_descent = jax.vmap(lambda w: one_step(jl.sgd(1e-4), shifted_quadratic, w))(starts)
  assert np.linalg.norm(gradient_descent - CENTRE, axis=-1).min() > 1.0  # not a trivial test


def convex_enough(loss, params):
  """A damping that makes the Hessian of `loss` at `params` positive definite, and the Hessian."""
  flat, unravel = ravel_pytree(params)
  hessian = np.asarray(jax.jit(jax.hessian(lambda v: loss(unravel(v))))(flat))
  return max(0.0, -np.linalg.eigvalsh(hessian).min()) + 0.5, hessian


def test_damped_newton_step_is_the_formula_and_cg_agrees(x64):
  """w <- w - lr (H + damping I)^{-1} g on a non-quadratic loss with three leaves."""
  loss, params = multi_leaf_problem()
  params = jax.tree.map(jnp.asarray, params)
  damping, hessian = convex_enough(loss, params)
  flat, unravel = ravel_pytree(params)
  grad = np.asarray(ravel_pytree(jax.grad(loss)(params))[0])
  expected = flat - 0.7 * np.linalg.solve(hessian + damping * np.eye(flat.size), grad)

  def step(solver, rate, damping):
    return ravel_pytree(one_step(jl.newton(rate, damping, solver, cg_tol=1e-14), loss, params))[0]

  # traced learning rate and damping: one compilation serves any values
  for solver in ["direct", "cg"]:
    got = jax.jit(step, static_argnums=0)(solver, 0.7, damping)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def quadratic_pairs(seed=0, count=6, size=5):
  """Points w_0..w_count and gradients of a convex quadratic there: every pair has s^T y > 0."""
  rng = np.random.default_rng(seed)
  a = rng.normal(size=(size, size))
  hessian = a @ a.T + np.eye(size)
  points = rng.normal(size=(count + 1, size))
  return points, points @ hessian


def dense_inverse_hessian(points, grads, memory):
  """The L-BFGS inverse-Hessian estimate as a matrix: from gamma I (gamma = s^T y / y^T y of
  the newest pair), H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T over the newest
  `memory` pairs, oldest first."""
  s, y = np.diff(points, axis=0)[-memory:], np.diff(grads, axis=0)[-memory:]
  h = (s[-1] @ y[-1]) / (y[-1] @ y[-1]) * np.eye(points.shape[1])
  for si, yi in zip(s, y):
    rho = 1 / (si @ yi)
    v = np.eye(len(si)) - rho * np.outer(yi, si)
    h = v.T @ h @ v + rho * np.outer(si, si)
  return h


def run_lbfgs_direction(transform, points, grads):
  state = transform.init(jnp.zeros(points.shape[1]))
  update = jax.jit(transform.update)
  directions = []
  for w, g in zip(points, grads):
    direction, state = update(jnp.asarray(g), state, jnp.asarray(w))
    directions.append(direction)
  return np.stack(directions), state


def test_two_loop_recursion_is_the_dense_inverse_bfgs_formula(x64):
  points, grads = quadratic_pairs()
  # 6 pairs through a memory of 3: the ring buffer wraps around
  directions, state = run_lbfgs_direction(jl.scale_by_lbfgs(memory_size=3), points, grads)
  first = min(1, 1 / np.linalg.norm(grads[0])) * grads[0]  # no pair yet: a scaled gradient
  np.testing.assert_allclose(directions[0], first, rtol=1e-12)
  for k in range(1, len(points)):
    expected = dense_inverse_hessian(points[:k + 1], grads[:k + 1], 3) @ grads[k]
    np.testing.assert_allclose(directions[k], expected, rtol=1e-10)
  assert int(state.num_pairs) == 6


def test_pairs_without_positive_curvature_are_skipped(x64):
  points, grads = quadratic_pairs(count=3)
  # a last step whose gradient change points against the step: s^T y < 0
  w, g = points[-1] + 0.1, grads[-1] - 3.0
  assert (w - points[-1]) @ (g - grads[-1]) < 0
  directions, state = run_lbfgs_direction(
      jl.scale_by_lbfgs(memory_size=5), np.vstack([points, w]), np.vstack([grads, g]))
  assert int(state.num_pairs) == 3
  kept_pairs_only = dense_inverse_hessian(points, grads, 5) @ g
  np.testing.assert_allclose(directions[-1], kept_pairs_only, rtol=1e-10)


def scipy_minimum(value_and_grad, start):
  result = scipy.optimize.minimize(
      lambda w: tuple(np.asarray(v, np.float64) for v in value_and_grad(w)), start, jac=True,
      method="L-BFGS-B", options=dict(maxiter=10000, maxcor=10, ftol=0.0, gtol=1e-11))
  return result.x


@pytest.mark.parametrize("linesearch", ["zoom", "backtracking"])
def test_lbfgs_finds_scipy_optimum_on_rosenbrock(linesearch, x64):
  problem = rosenbrock()
  ours = jl.minimize(problem.loss, jnp.asarray(problem.start), "lbfgs", tol=1e-10,
                     linesearch=linesearch)
  theirs = scipy_minimum(jax.jit(jax.value_and_grad(problem.loss)), problem.start)
  assert bool(ours.converged)
  np.testing.assert_allclose(ours.params, theirs, atol=1e-6)
  np.testing.assert_allclose(ours.params, problem.minimizer, atol=1e-6)


def digits_problem(l2=1e-3):
  data = digits(0)
  args = (jnp.asarray(data.x_train, jnp.float64), data.y_train, l2)
  params = {"w": jnp.zeros((data.num_features, data.num_classes)),
            "b": jnp.zeros(data.num_classes)}
  return args, params


def test_lbfgs_finds_scipy_optimum_on_softmax_regression(x64):
  """L2-regularised softmax regression on digits: 650 parameters, one strongly convex optimum."""
  args, params = digits_problem()
  ours = jl.minimize(softmax_regression_loss, params, "lbfgs", tol=1e-9, max_steps=2000,
                     args=args)
  flat, unravel = ravel_pytree(params)

  @jax.jit
  def value_and_grad(v):
    value, grad = jax.value_and_grad(softmax_regression_loss)(unravel(v), *args)
    return value, ravel_pytree(grad)[0]

  theirs = scipy_minimum(value_and_grad, np.asarray(flat))
  assert bool(ours.converged)
  np.testing.assert_allclose(ravel_pytree(ours.params)[0], theirs, atol=1e-6)
  assert abs(float(ours.value) - float(value_and_grad(theirs)[0])) < 1e-12


def optax_style_loop(solver, loss, params, steps, **data):
  """The loop of optax.lbfgs's documentation, data passed as keyword arguments."""
  state = solver.init(params)
  value_and_grad = optax.value_and_grad_from_state(loss)

  @jax.jit
  def step(params, state):
    value, grad = value_and_grad(params, state=state, **data)
    updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=loss,
                                   **data)
    return optax.apply_updates(params, updates), state

  for _ in range(steps):
    params, state = step(params, state)
  return params


def test_a_loop_written_for_optax_lbfgs_drives_ours(x64):
  rng = np.random.default_rng(0)
  x, y = jnp.asarray(rng.normal(size=(40, 5))), jnp.asarray(rng.normal(size=40))
  loss = lambda w, x, y: jnp.mean(jnp.log(jnp.cosh(x @ w - y))) + 1e-2 * jnp.sum(w ** 2)
  start = jnp.zeros(5)
  theirs = optax_style_loop(optax.lbfgs(), loss, start, 30, x=x, y=y)
  ours = optax_style_loop(jl.lbfgs(), loss, start, 30, x=x, y=y)
  np.testing.assert_allclose(ours, theirs, atol=1e-9)
  assert np.linalg.norm(theirs) > 0.1  # it went somewhere


def test_newton_composes_with_a_line_search(x64):
  """Newton's step checked by Armijo backtracking, driven by the same optax-style loop."""
  problem = rosenbrock()
  solver = optax.chain(jl.newton(), jl.scale_by_backtracking_linesearch())
  end = optax_style_loop(solver, problem.loss, jnp.asarray(problem.start), 25)
  np.testing.assert_allclose(end, problem.minimizer, atol=1e-10)


@pytest.mark.parametrize("make,message", [
    (lambda: jl.newton(damping=-1.0),
     "newton(damping=-1.0): damping must be in [0, inf), got -1.0"),
    (lambda: jl.newton(learning_rate=-0.5),
     "newton(learning_rate=-0.5): learning_rate must be in [0, inf), got -0.5"),
    (lambda: jl.newton(solver="qr"),
     "newton(solver='qr'): solver must be one of 'direct', 'cg', got 'qr'"),
    (lambda: jl.lbfgs(memory_size=0),
     "lbfgs(memory_size=0): memory_size must be in [1, inf), got 0"),
    (lambda: jl.lbfgs(memory_size=2.5),
     "lbfgs(memory_size=2.5): memory_size must be an integer in [1, inf), got 2.5"),
    (lambda: jl.lbfgs(linesearch="wolfe"),
     "lbfgs(linesearch='wolfe'): linesearch must be one of 'zoom', 'backtracking', None, "
     "got 'wolfe'"),
    (lambda: jl.lbfgs(learning_rate=float("nan")),
     "lbfgs(learning_rate=nan): learning_rate must be in [0, inf), got nan"),
])
def test_bad_hyperparameters_raise(make, message):
  with pytest.raises(ValueError) as error:
    make()
  assert str(error.value) == message
