"""The options of issue 18 on the existing optimizers, each against optax 0.2.8 where it has
them (rmsprop's momentum and centered are checked against torch.optim in test_aliases.py, the
schedules' exponent, transition_begin and end_value in test_schedules.py): mu_dtype and
accumulator_dtype, eps_root, L-BFGS's scale_init_precond and its invariance to the scale of the
objective, the warm-started backtracking search, zoom's max_learning_rate; one step count per
optimizer state; concrete bfloat16 hyperparameters."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from helpers import multi_leaf_problem, run
from jaxopt_lab.optim.minimize import SolverStatus
from jaxopt_lab.optim.nonfinite import skip_nonfinite
from jaxopt_lab.theory.problems import rosenbrock
from optimizer_table import TABLE


def nbytes(tree) -> int:
  return sum(x.nbytes for x in jax.tree.leaves(tree))


MOMENTS_IN_BFLOAT16 = {  # ours, optax's, and ours with its moment in float32
    "adam": (jl.adam(0.01, 0.8, 0.99, mu_dtype=jnp.bfloat16),
             optax.adam(0.01, 0.8, 0.99, mu_dtype=jnp.bfloat16), jl.adam(0.01, 0.8, 0.99)),
    "adamw": (jl.adamw(0.01, 0.8, 0.99, weight_decay=0.1, mu_dtype=jnp.bfloat16),
              optax.adamw(0.01, 0.8, 0.99, weight_decay=0.1, mu_dtype=jnp.bfloat16),
              jl.adamw(0.01, 0.8, 0.99, weight_decay=0.1)),
    "momentum": (jl.momentum(0.02, 0.8, accumulator_dtype=jnp.bfloat16),
                 optax.sgd(0.02, momentum=0.8, accumulator_dtype=jnp.bfloat16),
                 jl.momentum(0.02, 0.8)),
    "nesterov": (jl.nesterov(0.02, 0.8, accumulator_dtype=jnp.bfloat16),
                 optax.sgd(0.02, momentum=0.8, nesterov=True, accumulator_dtype=jnp.bfloat16),
                 jl.nesterov(0.02, 0.8)),
}


@pytest.mark.parametrize("name", MOMENTS_IN_BFLOAT16)
def test_moments_kept_in_bfloat16_take_half_the_memory_and_round_no_more_than_optax(name):
  """mu_dtype / accumulator_dtype store the moment in bfloat16, as optax's options do. optax
  also multiplies it by b1 (beta) in bfloat16 (a Python float times a bfloat16 array stays
  bfloat16); ours computes in float32 and rounds only the stored value, so its run stays at
  least as close to the float32-moment run as optax's does."""
  ours, theirs, wide = MOMENTS_IN_BFLOAT16[name]
  loss, params = multi_leaf_problem()
  params = jax.tree.map(jnp.float32, params)
  exact = run(wide, loss, params, 40)
  ours_error = np.abs(run(ours, loss, params, 40) - exact).max()
  optax_error = np.abs(run(theirs, loss, params, 40) - exact).max()
  assert ours_error <= optax_error and ours_error < 2e-2 * np.abs(exact).max()
  assert ours_error > 0  # the moment was rounded
  state = ours.init(params)
  moment = state[0].mu if hasattr(state[0], "mu") else state[0].velocity
  assert {x.dtype for x in jax.tree.leaves(moment)} == {jnp.dtype(jnp.bfloat16)}
  assert 2 * nbytes(moment) == nbytes(params)
  if hasattr(state[0], "nu"):
    assert {x.dtype for x in jax.tree.leaves(state[0].nu)} == {jnp.dtype(jnp.float32)}


def test_eps_root_matches_optax(x64):
  loss, params = multi_leaf_problem()
  ours = run(jl.adam(0.01, 0.8, 0.99, 1e-8, eps_root=1e-4), loss, params, 60)
  theirs = run(optax.adam(0.01, 0.8, 0.99, 1e-8, eps_root=1e-4), loss, params, 60)
  np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
  plain = run(jl.adam(0.01, 0.8, 0.99, 1e-8), loss, params, 60)
  assert np.abs(plain[-1] - ours[-1]).max() > 1e-4  # eps_root changed the run


def quadratic_pairs(seed=0, count=8, size=5):
  rng = np.random.default_rng(seed)
  a = rng.normal(size=(size, size))
  points = rng.normal(size=(count, size))
  return points, points @ (a @ a.T + np.eye(size))


@pytest.mark.parametrize("scale_init_precond", [True, False])
def test_lbfgs_directions_match_optax_with_and_without_the_scaled_identity(
    scale_init_precond, x64):
  points, grads = quadratic_pairs()
  ours, theirs = (jl.scale_by_lbfgs(3, scale_init_precond),
                  optax.scale_by_lbfgs(3, scale_init_precond=scale_init_precond))

  @jax.jit
  def directions(points, grads):
    out = []
    for transform in (ours, theirs):
      step = lambda state, wg, t=transform: t.update(wg[1], state, wg[0])[::-1]
      out.append(jax.lax.scan(step, transform.init(points[0]), (points, grads))[1])
    return out

  mine, optax_ = directions(jnp.asarray(points), jnp.asarray(grads))
  np.testing.assert_allclose(mine, optax_, rtol=1e-10, atol=1e-12)
  if not scale_init_precond:
    np.testing.assert_allclose(mine[0], grads[0], rtol=1e-12)  # H_0 = I, not min(1, 1/|g|) I


def scaled_quadratic(x, scale):
  return 0.5 * jnp.sum(scale * jnp.logspace(0, 2, x.size) * x ** 2)


@jax.jit
def optax_lbfgs_iterations(start, scale, tol):
  """optax.lbfgs driven as its documentation does, until |grad| <= tol (at most 300 steps)."""
  solver = optax.lbfgs()
  loss = lambda x: scaled_quadratic(x, scale)
  value_and_grad = optax.value_and_grad_from_state(loss)

  def step(carry):
    params, state, _, count = carry
    value, grad = value_and_grad(params, state=state)
    updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=loss)
    params = optax.apply_updates(params, updates)
    return params, state, optax.tree.norm(optax.tree.get(state, "grad")), count + 1

  carry = (start, solver.init(start), jnp.asarray(jnp.inf), 0)
  return jax.lax.while_loop(lambda c: (c[2] > tol) & (c[3] < 300), step, carry)[3]


def test_lbfgs_is_invariant_to_the_scale_of_the_objective_like_optax():
  """Item 12: s^T y > eps y^T y dropped every pair once the curvature passed 1/eps (8e6 in
  float32), here 1e6 * 100: 0 pairs, no convergence in 200 steps. The test is now relative
  (s^T y > eps |s| |y|), so the scaled problem takes the unscaled one's steps, as optax's
  (float32, f(x) = 1/2 sum scale d_i x_i^2, d = logspace(0, 2, 20), from x = 1)."""
  start = jnp.ones(20)
  counts = {}
  for scale in (1.0, 1e6):
    tol = 1e-5 * scale * float(jnp.linalg.norm(jnp.logspace(0, 2, 20)))  # relative
    result = jl.minimize(scaled_quadratic, start, "lbfgs", args=(scale,), tol=tol, max_steps=200)
    assert int(result.status) == SolverStatus.CONVERGED, (scale, int(result.num_steps))
    counts[scale] = int(result.num_steps)
    counts[f"optax {scale}"] = int(optax_lbfgs_iterations(start, scale, tol))
  assert abs(counts[1e6] - counts[1.0]) <= 2, counts
  assert abs(counts[1.0] - counts["optax 1.0"]) <= 0.2 * counts["optax 1.0"], counts


def test_warm_started_backtracking_matches_optax_and_lets_steps_grow(x64):
  problem = rosenbrock()
  common = dict(decrease_factor=0.8, increase_factor=1.5, max_learning_rate=1.0)
  ours = optax.chain(jl.sgd(1.0), jl.scale_by_backtracking_linesearch(
      max_steps=40, initial_learning_rate=1.0, **common))
  theirs = optax.chain(optax.sgd(1.0), optax.scale_by_backtracking_linesearch(
      max_backtracking_steps=40, store_grad=True, **common))

  @jax.jit
  def rates(start):
    out = []
    for solver in (ours, theirs):
      value_and_grad = optax.value_and_grad_from_state(problem.loss)

      def step(carry, _):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad,
                                       value_fn=problem.loss)
        return (optax.apply_updates(params, updates), state), optax.tree.get(state,
                                                                             "learning_rate")

      out.append(jax.lax.scan(step, (start, solver.init(start)), length=40)[1])
    return out

  mine, optax_ = rates(jnp.asarray(problem.start))
  np.testing.assert_allclose(mine, optax_, rtol=1e-12)
  assert (np.diff(mine) > 0).any() and (mine > 0).all()  # steps grew back after shrinking


def test_a_failed_backtracking_search_starts_over_unlike_optax(x64):
  """An ascent direction gives eta = 0; the next search starts at initial_learning_rate again
  (optax would start at min(1.5 * 0, max) = 0 and stay there)."""
  search = jl.scale_by_backtracking_linesearch(increase_factor=1.5, initial_learning_rate=1.0)
  f = lambda w: jnp.sum(w ** 2)
  w = jnp.ones(2)
  value, grad = jax.value_and_grad(f)(w)
  _, state = search.update(grad, search.init(w), w, value=value, grad=grad, value_fn=f)
  assert float(state.learning_rate) == 0.0
  _, state = search.update(-grad, state, w, value=value, grad=grad, value_fn=f)
  assert float(state.learning_rate) == 0.5  # 1.0 overshoots to f = 2; 0.5 lands on the minimum


def test_zoom_never_exceeds_max_learning_rate_and_accepts_it_when_capped(x64):
  """On f = |w|^2 / 2 with the direction -1e-3 grad f, the exact step is 1000: capped at 10,
  the search returns 10 (still decreasing f, as optax does), and never more."""
  f = lambda w: 0.5 * jnp.sum(w ** 2)
  w = jnp.array([1.0, -2.0])
  value, grad = jax.value_and_grad(f)(w)
  for cap, accepted in ((10.0, 10.0), (100.0, 100.0), (1e4, 128.0)):
    search = jl.scale_by_zoom_linesearch(max_learning_rate=cap)
    updates, state = search.update(-1e-3 * grad, search.init(w), w, value=value, grad=grad,
                                   value_fn=f)
    # uncapped, the doubling steps 1, 2, ..., 128 meet strong Wolfe at 128 (slope -0.872)
    assert float(state.learning_rate) == pytest.approx(accepted, rel=1e-12)
    assert float(state.value) < float(value)
  theirs = optax.scale_by_zoom_linesearch(30, max_learning_rate=10.0)
  _, their_state = theirs.update(-1e-3 * grad, theirs.init(w), w, value=value, grad=grad,
                                 value_fn=f)
  assert float(their_state.learning_rate) == pytest.approx(10.0)


def stepped_state(optimizer, steps: int = 3):
  loss = lambda p: jnp.sum(p["w"] ** 2) + jnp.sum((p["b"] - 1) ** 2)

  @jax.jit
  def steps_from(params):
    state = optimizer.init(params)
    for _ in range(steps):
      value, grad = jax.value_and_grad(loss)(params)
      updates, state = optimizer.update(grad, state, params, value=value, grad=grad,
                                        value_fn=loss)
      params = optax.apply_updates(params, updates)
    return state

  return steps_from({"w": jnp.ones(3), "b": jnp.zeros(2)})


ONE_COUNT = {**{name: lambda row=row: row.factory(**row.hyper) for name, row in TABLE.items()},
             "adam(schedule)": lambda: jl.adam(jl.cosine_decay(0.1, 10)),
             "rmsprop(momentum, centered)": lambda: jl.rmsprop(0.01, momentum=0.9, centered=True),
             "newton": lambda: jl.newton(0.5), "lbfgs": lambda: jl.lbfgs()}


@pytest.mark.parametrize("name", ONE_COUNT)
def test_each_optimizer_state_holds_one_step_count(name):
  """optax.tree.get(state, "count") finds exactly one count (it raised on two before: Adam's
  and the learning-rate stage's), and it is the number of updates applied."""
  optimizer = optax.with_extra_args_support(ONE_COUNT[name]())
  assert int(optax.tree.get(stepped_state(optimizer, 3), "count")) == 3


def test_the_schedule_sees_the_updates_applied_not_the_steps_skipped():
  """skip_nonfinite keeps the inner state on a bad step: the count, and the schedule read at
  it, do not move, as optax and torch count updates applied."""
  rates = jnp.array([1.0, 0.5, 0.25, 0.125])
  optimizer = skip_nonfinite(jl.sgd(lambda t: rates[t]))
  state = optimizer.init(jnp.zeros(1))
  steps = []
  for g in (1.0, jnp.nan, 1.0, 1.0):
    updates, state = optimizer.update(jnp.array([g]), state)
    steps.append(float(updates[0]))
  assert steps == [-1.0, 0.0, -0.5, -0.25]
  assert int(optax.tree.get(state, "count")) == 3


def test_a_concrete_bfloat16_hyperparameter_is_accepted():
  params = {"w": jnp.array([1.0, -2.0], jnp.bfloat16)}
  rate = jnp.asarray(1e-3, jnp.bfloat16)
  adam = jl.adam(learning_rate=rate, b2=jnp.asarray(0.99, jnp.bfloat16))
  updates, _ = adam.update(params, adam.init(params))
  np.testing.assert_allclose(np.float32(updates["w"]), -np.float32(rate) * np.array([1, -1]),
                             rtol=1e-2)
  for injected in (optax.inject_hyperparams(jl.adam)(learning_rate=1e-3, b2=0.99),
                   optax.inject_hyperparams(jl.adam, hyperparam_dtype=jnp.float32)(1e-3)):
    state = injected.init(params)
    updates, _ = jax.jit(injected.update)(params, state)
    assert updates["w"].dtype == jnp.bfloat16 and np.isfinite(np.float32(updates["w"])).all()


def test_a_bfloat16_value_rounded_out_of_range_is_refused_in_one_line_that_says_why():
  """optax.inject_hyperparams hands the defaults over in the parameters' dtype: b2 = 0.999 is
  1.0 in bfloat16, where Adam's second moment never moves (optax's own adam returns NaN, see
  test_dtypes.py). The error names the cause and the fix."""
  injected = optax.inject_hyperparams(jl.adam)(learning_rate=1e-3)
  with pytest.raises(ValueError) as error:
    injected.init({"w": jnp.ones(2, jnp.bfloat16)})
  message = str(error.value)
  assert message.startswith("adam(b2=1.0): b2 must be in [0, 1), got 1.0 (a bfloat16 value")
  assert "hyperparam_dtype=jnp.float32" in message and "\n" not in message
