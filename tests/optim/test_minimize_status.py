"""`minimize` reports why it stopped (SolverStatus), and never claims convergence at a NaN or
infinite point (scipy#5161): a non-finite start, a step into NaN (not applied: the result is
the last finite iterate), Newton at zero curvature (a finite least-norm step, not NaN), a line
search that finds no decrease, max_steps; each lane of a vmapped solve has its own status."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab.optim.minimize import SolverStatus


def status(result) -> str:
  return SolverStatus(int(result.status)).name


def check_honest(result):
  """converged means CONVERGED, and the result is finite whatever happened."""
  assert bool(result.converged) == (int(result.status) == SolverStatus.CONVERGED)
  assert np.isfinite(np.asarray(result.params)).all()
  if status(result) != "NONFINITE":
    assert np.isfinite(float(result.value))


def test_an_infinite_value_is_never_converged_scipy_5161():
  """The issue's reproduction: f = |w|^2 + inf has gradient 0 at w = 0 and returned
  converged=True."""
  result = jl.minimize(lambda w: jnp.sum(w ** 2) + jnp.inf, jnp.zeros(2), "lbfgs")
  assert status(result) == "NONFINITE" and not bool(result.converged)
  assert int(result.num_steps) == 0
  check_honest(result)


def test_a_step_into_nan_is_not_applied():
  """Gradient descent on sum(log w) from w = 1 with lr 2 steps to w = -1, where log is NaN:
  the solve stops there and returns w = 1, the last finite iterate."""
  result = jl.minimize(lambda w: jnp.sum(jnp.log(w)), jnp.ones(2), "gd", learning_rate=2.0)
  assert status(result) == "NONFINITE"
  np.testing.assert_array_equal(result.params, [1.0, 1.0])
  assert float(result.value) == 0.0 and int(result.num_steps) == 0
  check_honest(result)


@pytest.mark.parametrize("solver", ["direct", "cg"])
def test_newton_at_a_zero_curvature_coordinate_takes_a_finite_step(solver):
  """f = w_0^2 ignores w_1: the Hessian diag(2, 0) is singular. An LU solve returned NaN; the
  least-norm step leaves w_1 alone and lands on a minimum in one step."""
  result = jl.minimize(lambda w: w[0] ** 2, jnp.ones(2), "newton", solver=solver)
  assert status(result) == "CONVERGED" and int(result.num_steps) == 1
  np.testing.assert_array_equal(result.params, [0.0, 1.0])
  check_honest(result)


def test_newton_reports_a_stall_where_its_step_cannot_move():
  """f = w_0^2 + w_1 is unbounded below along w_1, where the Hessian is 0: after the w_0 step
  the least-norm Newton step is 0, and the solve says so instead of returning NaN."""
  result = jl.minimize(lambda w: w[0] ** 2 + w[1], jnp.ones(2), "newton")
  assert status(result) == "STALLED" and not bool(result.converged)
  np.testing.assert_array_equal(result.params, [0.0, 1.0])
  check_honest(result)


@jax.custom_jvp
def misleading(w):
  """sum(w^2) - 2, whose derivative is reported with the wrong sign: every direction the solver
  takes from it goes uphill. 0 at the start (1, 1), so that no rise is within rounding of it."""
  return jnp.sum(w ** 2) - 2


@misleading.defjvp
def misleading_jvp(primals, tangents):
  (w,), (dw,) = primals, tangents
  return misleading(w), -2 * jnp.sum(w * dw)


@pytest.mark.parametrize("linesearch", ["zoom", "backtracking"])
def test_a_line_search_that_finds_no_decrease_is_reported(linesearch):
  result = jl.minimize(misleading, jnp.ones(2), "lbfgs", linesearch=linesearch)
  assert status(result) == "LINESEARCH_FAILED" and int(result.num_steps) == 1
  np.testing.assert_array_equal(result.params, [1.0, 1.0])
  check_honest(result)


def test_max_steps():
  result = jl.minimize(lambda w: jnp.sum(w ** 2), jnp.ones(2), "gd", learning_rate=0.01,
                       max_steps=5)
  assert status(result) == "MAX_STEPS" and int(result.num_steps) == 5
  check_honest(result)
  # past int32 (an OverflowError deep in jit before): "until it stops", the count's limit
  result = jl.minimize(lambda w: jnp.sum(w ** 2), jnp.ones(2), "gd", learning_rate=0.25,
                       max_steps=10 ** 10)
  assert status(result) == "CONVERGED"


def test_each_lane_of_a_vmapped_solve_has_its_own_status():
  loss = lambda w: jnp.sum(jnp.log(w) ** 2)  # minimum at w = 1; NaN for w < 0
  starts = jnp.array([[2.0], [0.5], [-1.0]])
  results = jax.vmap(lambda w: jl.minimize(loss, w, "gd", learning_rate=0.1, tol=1e-6))(starts)
  assert [SolverStatus(int(s)).name for s in results.status] == ["CONVERGED", "CONVERGED",
                                                                   "NONFINITE"]
  np.testing.assert_array_equal(results.converged, [True, True, False])
  np.testing.assert_allclose(results.params[:2], 1.0, atol=1e-5)
  np.testing.assert_array_equal(results.params[2], [-1.0])  # the start: never finite
