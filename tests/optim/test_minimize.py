"""`minimize`: the stopping rule and step count on a quadratic where both are known exactly,
extra arguments, vmap over data sets / starting points / learning rates equal to a loop, one
compilation for new values, and clear errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab.optim.minimize import METHODS
from optimizer_table import TABLE
from jaxopt_lab.train.data import digits
from jaxopt_lab.theory.problems import quadratic, rosenbrock
from jaxopt_lab.studies.full_batch import softmax_regression_loss

# eigenvalues 1 and 2: gradient descent at lr 1/2 solves the second coordinate in one step
# and halves the first each step, so |grad f(w_t)| = 0.5^t from w_0 = (1, 1)
EASY = quadratic([1.0, 2.0], start=[1.0, 1.0])


def test_stops_when_the_gradient_norm_reaches_tol(x64):
  result = jl.minimize(EASY.loss, jnp.asarray(EASY.start), "gd", learning_rate=0.5, tol=1e-8)
  assert int(result.num_steps) == 27  # the first t with 0.5^t <= 1e-8
  assert bool(result.converged)
  np.testing.assert_allclose(result.grad_norm, 0.5 ** 27, rtol=1e-12)
  np.testing.assert_allclose(result.value, EASY.loss(result.params), rtol=1e-12)


def test_stops_after_max_steps(x64):
  result = jl.minimize(EASY.loss, jnp.asarray(EASY.start), "gd", learning_rate=0.5, tol=1e-8,
                       max_steps=10)
  assert int(result.num_steps) == 10
  assert not bool(result.converged)
  np.testing.assert_allclose(result.grad_norm, 0.5 ** 10, rtol=1e-12)


def test_new_values_reuse_the_compiled_solve(x64):
  traces = []

  def loss(w, scale):
    traces.append(1)  # runs only while tracing
    return scale * EASY.loss(w)

  start = jnp.asarray(EASY.start)
  first = jl.minimize(loss, start, "gd", args=(1.0,), learning_rate=0.5, tol=1e-8)
  count = len(traces)
  again = [jl.minimize(loss, start * 2, "gd", args=(2.0,), learning_rate=0.1, tol=1e-6),
           jl.minimize(loss, start, "gd", args=(1.0,), learning_rate=0.25, tol=1e-3)]
  assert len(traces) == count
  assert int(first.num_steps) == 27
  assert len({int(r.num_steps) for r in [first, *again]}) == 3  # the values did change things


def test_vmap_over_starting_points_equals_a_loop(x64):
  problem = rosenbrock()
  starts = jnp.asarray([[-1.2, 1.0], [2.0, -1.0], [0.5, 2.5], [-0.3, -0.7]])
  solve = lambda w: jl.minimize(problem.loss, w, "lbfgs", tol=1e-10, linesearch="zoom")
  batched = jax.jit(jax.vmap(solve))(starts)
  looped = [solve(w) for w in starts]
  np.testing.assert_allclose(batched.params, np.stack([r.params for r in looped]), atol=1e-12)
  np.testing.assert_array_equal(batched.num_steps, [int(r.num_steps) for r in looped])
  assert bool(batched.converged.all())
  assert len(set(np.asarray(batched.num_steps))) > 1  # different runs, stopped separately


def test_vmap_over_data_sets_equals_a_loop(x64):
  """Three splits of digits, one softmax regression each, 40 L-BFGS steps on all at once."""
  sets = [digits(seed) for seed in range(3)]
  xs = jnp.stack([jnp.asarray(s.x_train, jnp.float64) for s in sets])
  ys = jnp.stack([s.y_train for s in sets])
  params = {"w": jnp.zeros((64, 10)), "b": jnp.zeros(10)}
  # tol = 0: every run makes exactly max_steps steps, so batched and looped runs compare
  # step for step (batched reductions round differently: a knife-edge stop could differ)
  solve = jax.jit(lambda x, y: jl.minimize(softmax_regression_loss, params, "lbfgs", tol=0.0,
                                           max_steps=40, args=(x, y, 1e-3)))
  batched = jax.vmap(solve)(xs, ys)
  for i, (x, y) in enumerate(zip(xs, ys)):
    alone = solve(x, y)
    np.testing.assert_allclose(batched.value[i], alone.value, rtol=1e-12)
    for leaf, expected in zip(jax.tree.leaves(batched.params), jax.tree.leaves(alone.params)):
      np.testing.assert_allclose(leaf[i], expected, atol=1e-9)
  np.testing.assert_array_equal(batched.num_steps, 40)
  assert (batched.grad_norm < 1e-3).all()  # well on the way to each optimum
  assert not np.allclose(batched.params["w"][0], batched.params["w"][1], atol=1e-3)


def test_vmap_over_learning_rates_equals_a_loop(x64):
  rates = jnp.asarray([0.1, 0.25, 0.5])
  solve = lambda rate: jl.minimize(EASY.loss, jnp.asarray(EASY.start), "gd", tol=1e-8,
                                   learning_rate=rate)
  batched = jax.vmap(solve)(rates)
  for i, rate in enumerate(rates):
    alone = solve(float(rate))
    assert int(batched.num_steps[i]) == int(alone.num_steps)
    np.testing.assert_allclose(batched.params[i], alone.params, rtol=1e-12, atol=1e-15)
  assert int(batched.num_steps[2]) == 27


@pytest.mark.parametrize("call,message", [
    (lambda: jl.minimize(EASY.loss, jnp.ones(2), "bfgs"),
     f"minimize(method='bfgs'): method must be one of {', '.join(map(repr, METHODS))}, "
     "got 'bfgs'"),
    (lambda: jl.minimize(EASY.loss, jnp.ones(2), max_steps=-1),
     "minimize(max_steps=-1): max_steps must be in [0, inf), got -1"),
    (lambda: jl.minimize(EASY.loss, jnp.ones(2), tol=-1.0),
     "minimize(tol=-1.0): tol must be in [0, inf), got -1.0"),
    (lambda: jl.minimize(EASY.loss, jnp.ones(2), "newton", damping=-1.0),
     "newton(damping=-1.0): damping must be in [0, inf), got -1.0"),
])
def test_bad_arguments_raise(call, message):
  with pytest.raises(ValueError) as error:
    call()
  assert str(error.value) == message


def test_every_optimizer_of_the_table_is_a_method():
  assert {"gd" if name == "sgd" else name for name in TABLE} <= set(METHODS)
  assert {"newton", "lbfgs"} <= set(METHODS)


@pytest.mark.parametrize("name", TABLE)
def test_every_method_of_the_table_solves_the_quadratic(name):
  """Each optimizer of the table, at its converging quadratic settings, run by `minimize`."""
  row = TABLE[name]
  method = "gd" if name == "sgd" else name
  problem = quadratic(np.logspace(0, 2, 10), rotation_seed=0)
  result = jl.minimize(problem.loss, jnp.float32(problem.start), method, max_steps=3000,
                       tol=0.0, **row.quadratic)
  start = np.linalg.norm(problem.start - problem.minimizer)
  assert np.linalg.norm(result.params - problem.minimizer) < 2e-3 * start, name

