"""Building blocks: the lectures' equivalent forms, L2 versus weight decay, clipping, dtypes."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
import pytest

import jaxopt_lab as jl
from helpers import multi_leaf_problem, run
from jaxopt_lab.theory.problems import rosenbrock
from optimizer_table import TABLE

ROSENBROCK = rosenbrock()


def run_lookahead(learning_rate, beta, loss, w, steps):
  """The look-ahead form, gradient at w + beta v; returns iterates w and look-ahead points."""
  optimizer = jl.nesterov_lookahead_form(learning_rate, beta)
  state = optimizer.init(w)
  iterates, points = [w], [w]
  for _ in range(steps):
    grads = jax.grad(loss)(jl.nesterov_lookahead_point(w, state, beta))
    updates, state = optimizer.update(grads, state)
    w = optax.apply_updates(w, updates)
    iterates.append(w)
    points.append(jl.nesterov_lookahead_point(w, state, beta))
  return np.stack(iterates), np.stack(points)


def test_momentum_forms_give_the_same_iterates(x64):
  w0 = jnp.asarray(ROSENBROCK.start)
  sum_of_gradients = run(jl.momentum(1e-3, 0.9), ROSENBROCK.loss, w0, 300)
  velocity = run(jl.momentum_velocity_form(1e-3, 0.9), ROSENBROCK.loss, w0, 300)
  assert np.linalg.norm(sum_of_gradients[-1] - w0) > 0.5
  np.testing.assert_allclose(velocity, sum_of_gradients, rtol=1e-10, atol=1e-12)


def test_nesterov_forms_give_the_same_iterates(x64):
  """Look-ahead points w + beta v are the change-of-variables iterates, and torch's form too."""
  w0 = jnp.asarray(ROSENBROCK.start)
  _, points = run_lookahead(1e-3, 0.9, ROSENBROCK.loss, w0, 300)
  change_of_variables = run(jl.nesterov_change_of_variables(1e-3, 0.9), ROSENBROCK.loss, w0, 300)
  sutskever = run(jl.nesterov(1e-3, 0.9), ROSENBROCK.loss, w0, 300)
  assert np.linalg.norm(points[-1] - w0) > 0.5
  np.testing.assert_allclose(points, change_of_variables, rtol=1e-10, atol=1e-12)
  np.testing.assert_allclose(sutskever, change_of_variables, rtol=1e-10, atol=1e-12)


def test_lookahead_differs_from_heavy_ball(x64):
  """The look-ahead gradient matters: same velocity rule, other gradient, other iterates."""
  w0 = jnp.asarray(ROSENBROCK.start)
  iterates, _ = run_lookahead(1e-3, 0.9, ROSENBROCK.loss, w0, 100)
  heavy_ball = run(jl.momentum_velocity_form(1e-3, 0.9), ROSENBROCK.loss, w0, 100)
  assert np.abs(iterates[-1] - heavy_ball[-1]).max() > 1e-3


def test_velocity_forms_reject_schedules():
  with pytest.raises(ValueError, match="constant learning rate"):
    jl.momentum_velocity_form(lambda t: 0.1)


def with_l2_penalty(loss, strength):
  """The loss plus strength/2 |w|^2: L2 regularization written into the objective."""
  return lambda p: loss(p) + 0.5 * strength * sum(jnp.sum(w ** 2) for w in jax.tree.leaves(p))


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_weight_decay_equals_l2_for_sgd_and_momentum(name, x64):
  """The lecture's point, first half: for SGD (with or without momentum) weight decay in the
  optimizer and an L2 penalty in the loss are the same algorithm."""
  row, strength = TABLE[name], 0.1
  loss, params = multi_leaf_problem()
  l2 = run(row.factory(**row.hyper), with_l2_penalty(loss, strength), params, 60)
  decay = run(jl.chain(jl.add_decayed_weights(strength), row.factory(**row.hyper)),
              loss, params, 60)
  plain = run(row.factory(**row.hyper), loss, params, 60)
  assert np.abs(l2[-1] - plain[-1]).max() > 1e-3  # the regularization does something
  np.testing.assert_allclose(decay, l2, rtol=1e-10, atol=1e-12)


def test_sgd_decoupled_decay_equals_l2(x64):
  """For plain SGD even the decoupled placement (after the preconditioner, as AdamW) is L2."""
  loss, params = multi_leaf_problem()
  l2 = run(jl.sgd(0.1), with_l2_penalty(loss, 0.1), params, 60)
  decoupled = run(jl.chain(jl.add_decayed_weights(0.1), jl.scale_by_learning_rate(0.1)),
                  loss, params, 60)
  np.testing.assert_allclose(decoupled, l2, rtol=1e-10, atol=1e-12)


def test_adamw_differs_from_adam_with_l2(x64):
  """The lecture's point, second half: for Adam, decoupled weight decay (AdamW) is not L2."""
  loss, params = multi_leaf_problem()
  l2 = run(jl.adam(0.01), with_l2_penalty(loss, 0.1), params, 60)
  coupled = run(jl.chain(jl.add_decayed_weights(0.1), jl.adam(0.01)), loss, params, 60)
  decoupled = run(jl.adamw(0.01, weight_decay=0.1), loss, params, 60)
  np.testing.assert_allclose(coupled, l2, rtol=1e-10, atol=1e-12)
  assert np.abs(decoupled[-1] - l2[-1]).max() > 1e-3


def test_add_decayed_weights_needs_params():
  optimizer = jl.add_decayed_weights(0.1)
  with pytest.raises(ValueError, match="needs the parameters"):
    optimizer.update({"w": jnp.ones(2)}, optimizer.init(None))


def test_a_weight_decay_known_to_be_zero_leaves_the_updates_as_they_are():
  """0 * inf would be NaN: torch's AdamW(weight_decay=0) multiplies w by 1 - lr * 0 = 1, and
  an infinite weight stays infinite. A traced 0 is not known, and still decays."""
  params, updates = {"w": jnp.array([jnp.inf, 2.0])}, {"w": jnp.array([1.0, 1.0])}
  decay = jl.add_decayed_weights(0.0)
  kept, _ = decay.update(updates, decay.init(params), params)
  np.testing.assert_array_equal(kept["w"], [1.0, 1.0])

  def traced(weight_decay):
    decay = jl.add_decayed_weights(weight_decay)
    return decay.update(updates, decay.init(params), params)[0]["w"]

  np.testing.assert_array_equal(jax.jit(traced)(0.0), [np.nan, 1.0])
  np.testing.assert_array_equal(jax.jit(traced)(0.5), [np.inf, 2.0])


def test_clip_by_global_norm():
  clip = jl.clip_by_global_norm(1.0)
  grads = {"a": jnp.array([3.0, 0.0]), "b": jnp.array([[4.0]])}  # norm 5
  clipped, _ = clip.update(grads, clip.init(grads))
  np.testing.assert_allclose(jl.global_norm(clipped), 1.0, rtol=1e-6)
  np.testing.assert_allclose(clipped["a"], [0.6, 0.0], rtol=1e-6)
  small = jax.tree.map(lambda g: g / 10, grads)  # norm 0.5 passes unchanged
  unchanged, _ = clip.update(small, clip.init(small))
  np.testing.assert_array_equal(unchanged["a"], small["a"])


def test_clip_composes_with_any_optimizer(x64):
  """clip_by_global_norm then adam equals adam fed gradients clipped by hand."""
  loss, params = multi_leaf_problem()
  clipped = run(jl.chain(jl.clip_by_global_norm(0.1), jl.adam(0.01)), loss, params, 30)

  def clipped_loss_grad_run():
    optimizer, p = jl.adam(0.01), jax.tree.map(jnp.asarray, params)
    state, path = optimizer.init(p), []
    for _ in range(30):
      g = jax.grad(loss)(p)
      norm = jl.global_norm(g)
      g = jax.tree.map(lambda x: x * jnp.minimum(1.0, 0.1 / norm), g)
      updates, state = optimizer.update(g, state)
      p = optax.apply_updates(p, updates)
      path.append(ravel_pytree(p)[0])
    return np.stack(path)

  np.testing.assert_allclose(clipped[1:], clipped_loss_grad_run(), rtol=1e-10, atol=1e-12)


@functools.cache
def three_steps(dtype) -> dict:
  """Every row's initial state and (updates, state) after each of 3 steps on parameters of
  `dtype` (the gradient of |w|^2 / 2), all rows in one compiled program."""
  params = {"w": jnp.linspace(-1, 1, 6, dtype=dtype), "b": jnp.ones((), dtype)}

  def steps():
    out = {}
    for name, row in TABLE.items():
      optimizer = row.factory(**row.hyper)
      state = initial = optimizer.init(params)
      history = []
      for _ in range(3):
        updates, state = optimizer.update(params, state, params)
        history.append((updates, state))
      out[name] = (initial, history)
    return out

  return jax.jit(steps)()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16, jnp.complex64])
@pytest.mark.parametrize("name", TABLE)
def test_dtypes_are_kept(name, dtype):
  """Updates come back in the gradients' dtype; state dtypes do not drift across steps."""
  initial, history = three_steps(dtype)[name]
  dtypes = [x.dtype for x in jax.tree.leaves(initial)]
  for updates, state in history:
    assert all(u.dtype == dtype for u in jax.tree.leaves(updates))
    assert [x.dtype for x in jax.tree.leaves(state)] == dtypes
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


def test_hyperparameters_keep_their_precision_in_bfloat16():
  """b2 = 0.999 rounds to 1.0 in bfloat16; computed at that precision, v would stay 0 and the
  first RMSProp step would be g / eps. Ours is g / sqrt(0.001 g^2) = 31.6, as in float32."""
  grads = {"w": jnp.ones(4, jnp.bfloat16)}
  rms = jl.scale_by_rmsprop(decay=0.999, eps=1e-8)
  updates, _ = rms.update(grads, rms.init(grads))
  np.testing.assert_allclose(np.float32(updates["w"]), 1 / np.sqrt(0.001), rtol=1e-2)
  adam = jl.adam(1e-2, b2=0.999)
  state = adam.init(grads)
  for _ in range(5):
    updates, state = adam.update(grads, state)
  np.testing.assert_allclose(np.float32(updates["w"]), -1e-2, rtol=1e-2)
