"""Both line searches: the accepted step satisfies its conditions (Armijo; strong Wolfe), the
state holds f and grad f there, short steps grow, ascent directions give a zero step.
(Extra keyword arguments reaching value_fn are tested through lbfgs in test_second_order.)"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab.theory.problems import rosenbrock

ROSENBROCK = rosenbrock()
C1, C2 = 0.25, 0.5  # stricter than the defaults, so that both conditions bite
SEARCHES = {
    "backtracking": jl.scale_by_backtracking_linesearch(slope_rtol=C1),
    "zoom": jl.scale_by_zoom_linesearch(slope_rtol=C1, curvature_rtol=C2),
}


@functools.cache
def compiled_search(name):
  """Runs search `name` once from every point along its direction (vmapped, one compile)."""
  search = SEARCHES[name]

  def one(w, u):
    value, grad = jax.value_and_grad(ROSENBROCK.loss)(w)
    return search.update(u, search.init(w), w, value=value, grad=grad,
                         value_fn=ROSENBROCK.loss)

  return jax.jit(jax.vmap(one))


def points_and_directions(scale):
  """Random points around Rosenbrock's valley, each with direction -scale * grad f."""
  points = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, size=(32, 2)))
  return points, -scale * jax.vmap(jax.grad(ROSENBROCK.loss))(points)


@pytest.mark.parametrize("name", SEARCHES)
@pytest.mark.parametrize("scale", [1.0, 1e-5], ids=["long", "short"])
def test_accepted_step_satisfies_the_conditions(name, scale, x64):
  points, directions = points_and_directions(scale)
  updates, state = compiled_search(name)(points, directions)
  f, grad = jax.vmap(jax.value_and_grad(ROSENBROCK.loss))(points)
  eta = np.asarray(state.learning_rate)
  new_points = points + updates
  new_f, new_grad = jax.vmap(jax.value_and_grad(ROSENBROCK.loss))(new_points)
  slope = np.sum(grad * directions, -1)
  assert (eta > 0).all()
  np.testing.assert_allclose(updates, eta[:, None] * directions, rtol=1e-12)
  assert (new_f <= f + C1 * eta * slope).all()  # Armijo, without any slack
  np.testing.assert_allclose(state.value, new_f, rtol=1e-12)
  np.testing.assert_allclose(state.grad, new_grad, rtol=1e-10, atol=1e-12)
  if name == "zoom":  # strong Wolfe curvature
    new_slope = np.sum(new_grad * directions, -1)
    assert (np.abs(new_slope) <= C2 * np.abs(slope)).all()
  if scale == 1.0:  # the first trial eta = 1 is far too long from most of these points
    assert (eta < 1).mean() > 0.5
  elif name == "zoom":  # too short: the search grows the step until the curvature is small
    assert (eta > 1).mean() > 0.9, eta
  else:  # backtracking accepts the first trial that decreases f enough
    assert (eta == 1).all()


@pytest.mark.parametrize("name", SEARCHES)
def test_ascent_direction_gives_a_zero_step(name):
  w = jnp.array([-1.2, 1.0])
  search = SEARCHES[name]
  value, grad = jax.value_and_grad(ROSENBROCK.loss)(w)
  updates, state = search.update(grad, search.init(w), w, value=value, grad=grad,
                                 value_fn=ROSENBROCK.loss)
  assert float(state.learning_rate) == 0.0
  np.testing.assert_array_equal(updates, jnp.zeros(2))
  assert float(state.value) == float(value)
  assert int(state.num_evaluations) == 0  # not a descent direction: nothing to search


@pytest.mark.parametrize("make,message", [
    (lambda: jl.scale_by_zoom_linesearch(curvature_rtol=1.0),
     "scale_by_zoom_linesearch(curvature_rtol=1.0): curvature_rtol must be in (0, 1), got 1.0"),
    (lambda: jl.scale_by_zoom_linesearch(increase_factor=1.0),
     "scale_by_zoom_linesearch(increase_factor=1.0): increase_factor must be in (1, inf), "
     "got 1.0"),
    (lambda: jl.scale_by_zoom_linesearch(slope_rtol=0.5, curvature_rtol=0.5),
     "scale_by_zoom_linesearch(slope_rtol=0.5, curvature_rtol=0.5): slope_rtol must be below "
     "curvature_rtol = 0.5 (or no step may satisfy both), got 0.5"),
    (lambda: jl.scale_by_backtracking_linesearch(decrease_factor=0.0),
     "scale_by_backtracking_linesearch(decrease_factor=0.0): decrease_factor must be in "
     "(0, 1), got 0.0"),
    (lambda: jl.scale_by_backtracking_linesearch(max_steps=0),
     "scale_by_backtracking_linesearch(max_steps=0): max_steps must be in [1, inf), got 0"),
])
def test_bad_hyperparameters_raise(make, message):
  with pytest.raises(ValueError) as error:
    make()
  assert str(error.value) == message
