"""Non-finite steps are skipped with exact counters; large gradients do not overflow silently."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.optim.nonfinite import INT32_MAX, skip_nonfinite

PARAMS = {"w": jnp.float32([1.0, -2.0, 0.5]), "b": jnp.float32(0.3)}
FINITE = {"w": jnp.float32([0.1, -0.2, 0.3]), "b": jnp.float32(1.0)}
NAN = {"w": jnp.float32([0.1, np.nan, 0.3]), "b": jnp.float32(1.0)}
INF = {"w": jnp.float32([0.1, 0.2, 0.3]), "b": jnp.float32(-np.inf)}


def assert_trees_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


@pytest.mark.parametrize("bad", [NAN, INF], ids=["nan", "inf"])
def test_bad_gradient_gives_zero_update_and_keeps_inner_state(bad):
  optimizer = skip_nonfinite(jl.adam(0.1), max_consecutive_errors=3)
  _, state = optimizer.update(FINITE, optimizer.init(PARAMS))
  updates, skipped = optimizer.update(bad, state)
  assert_trees_equal(updates, jax.tree.map(jnp.zeros_like, PARAMS))
  assert_trees_equal(skipped.inner_state, state.inner_state)  # bit for bit, count included
  assert (int(skipped.notfinite_count), int(skipped.total_notfinite)) == (1, 1)
  assert not bool(skipped.last_finite)
  # the next good step is the step the inner optimizer would have taken without the bad one
  expected, _ = jl.adam(0.1).update(FINITE, state.inner_state)
  updates, state = optimizer.update(FINITE, skipped)
  assert_trees_equal(updates, expected)
  assert (int(state.notfinite_count), int(state.total_notfinite)) == (0, 1)


def test_a_non_finite_inner_update_is_skipped_too():
  """Finite gradients, but the step overflows: -1e38 * 100 is -inf in float32."""
  optimizer = skip_nonfinite(jl.momentum(1e38, 0.9), 3)
  state = optimizer.init(PARAMS)
  updates, new = optimizer.update({"w": jnp.full(3, 100.0), "b": jnp.array(1.0)}, state)
  assert_trees_equal(updates, jax.tree.map(jnp.zeros_like, PARAMS))
  assert_trees_equal(new.inner_state, state.inner_state)
  assert int(new.total_notfinite) == 1


def test_the_gradients_are_checked_even_when_the_inner_transform_hides_their_nan():
  optimizer = skip_nonfinite(optax.chain(optax.zero_nans(), jl.sgd(0.1)), 3)
  updates, state = optimizer.update(NAN, optimizer.init(PARAMS))
  assert_trees_equal(updates, jax.tree.map(jnp.zeros_like, PARAMS))
  assert int(state.total_notfinite) == 1


def expected_counters(bad_steps, max_consecutive_errors):
  """The documented rule, in plain Python: (consecutive, total, applied) after each step."""
  consecutive = total = 0
  rows = []
  for bad in bad_steps:
    consecutive = consecutive + 1 if bad else 0
    total += bad
    rows.append((consecutive, total, (not bad) or consecutive > max_consecutive_errors))
  return np.array(rows)


def test_counters_are_exact_over_a_long_jitted_run():
  """600 steps in one scan with bursts of NaN gradients: counters and the skip/apply decision
  follow the rule exactly, including letting the 4th bad step in a row through."""
  rng = np.random.default_rng(0)
  bad = rng.random(600) < 0.3
  bad[100:110] = True  # a burst longer than max_consecutive_errors
  optimizer = skip_nonfinite(jl.sgd(1.0), max_consecutive_errors=3)

  def step(state, is_bad):
    grads = jnp.where(is_bad, jnp.nan, 1.0) * jnp.ones(2)
    updates, state = optimizer.update(grads, state)
    applied = jnp.any(updates != 0)  # sgd(1) of a NaN or of 1 is never 0
    return state, (state.notfinite_count, state.total_notfinite, applied)

  final, (consecutive, total, applied) = jax.jit(
      lambda b: jax.lax.scan(step, optimizer.init(jnp.zeros(2)), b))(jnp.asarray(bad))
  expected = expected_counters(bad, 3)
  np.testing.assert_array_equal(np.stack([consecutive, total, applied], 1), expected)
  assert final.notfinite_count.dtype == final.total_notfinite.dtype == jnp.int32
  assert int(final.total_notfinite) == bad.sum()
  assert expected[100:110, 2].tolist() == [False] * 3 + [True] * 7  # burst: 3 skipped, then through


def test_counters_saturate_and_the_largest_limit_never_lets_a_bad_step_through():
  optimizer = skip_nonfinite(jl.sgd(1.0), max_consecutive_errors=INT32_MAX)
  state = optimizer.init(jnp.zeros(2))
  state = state._replace(notfinite_count=jnp.int32(INT32_MAX - 1),
                         total_notfinite=jnp.int32(INT32_MAX - 1))
  for _ in range(3):
    updates, state = optimizer.update(jnp.full(2, jnp.nan), state)
    np.testing.assert_array_equal(updates, 0.0)
  assert int(state.notfinite_count) == int(state.total_notfinite) == INT32_MAX


def test_vmap_keeps_one_set_of_counters_per_lane():
  optimizer = skip_nonfinite(jl.adam(0.1), 1)
  grads = jnp.array([[1.0, 2.0], [jnp.nan, 2.0], [jnp.inf, 1.0]])
  states = jax.vmap(optimizer.init)(jnp.zeros((3, 2)))
  updates, states = jax.jit(jax.vmap(optimizer.update))(grads, states)
  np.testing.assert_allclose(updates[0], [-0.1, -0.1], rtol=1e-6)
  np.testing.assert_array_equal(updates[1:], 0.0)
  np.testing.assert_array_equal(states.notfinite_count, [0, 1, 1])
  np.testing.assert_array_equal(states.inner_state[0].count, [1, 0, 0])
  # a second bad step in lane 1 exceeds max_consecutive_errors=1 and goes through
  updates, states = jax.vmap(optimizer.update)(grads, states)
  assert np.all(np.isfinite(updates[0])) and not np.all(np.isfinite(updates[1:]), axis=1).any()
  np.testing.assert_array_equal(states.notfinite_count, [0, 2, 2])


def test_traces_once_for_any_max_consecutive_errors():
  traces = []

  @jax.jit
  def update(limit, grads, state):
    traces.append(1)
    return skip_nonfinite(jl.adam(0.1), limit).update(grads, state)

  state = skip_nonfinite(jl.adam(0.1)).init(PARAMS)
  for limit, grads in [(0, FINITE), (5, NAN), (7, INF)]:
    _, state = update(jnp.int32(limit), grads, state)
  assert len(traces) == 1 and int(state.total_notfinite) == 2


def test_matches_optax_apply_if_finite_on_bad_gradients():
  """Interoperable with optax.apply_if_finite: same field names, same rule, same numbers
  while only the gradients are non-finite (runs of bad steps up to max_consecutive_errors)."""
  rng = np.random.default_rng(1)
  pattern = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0]
  ours, theirs = skip_nonfinite(jl.adam(0.1), 2), optax.apply_if_finite(optax.adam(0.1), 2)
  s_ours, s_theirs = ours.init(PARAMS), theirs.init(PARAMS)
  step_ours, step_theirs = jax.jit(ours.update), jax.jit(theirs.update)
  for bad in pattern:
    grads = NAN if bad else jax.tree.map(lambda g: g * rng.normal(), FINITE)
    u_ours, s_ours = step_ours(grads, s_ours)
    u_theirs, s_theirs = step_theirs(grads, s_theirs)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
                 u_ours, u_theirs)
    for field in ("notfinite_count", "last_finite", "total_notfinite"):
      assert getattr(s_ours, field) == getattr(s_theirs, field)
  assert int(s_ours.total_notfinite) == sum(pattern)


def test_composes_in_a_chain():
  optimizer = optax.chain(jl.clip_by_global_norm(1.0), skip_nonfinite(jl.adamw(0.1), 2))
  state = optimizer.init(PARAMS)
  updates, state = jax.jit(optimizer.update)(NAN, state, PARAMS)
  assert_trees_equal(updates, jax.tree.map(jnp.zeros_like, PARAMS))
  assert int(state[1].total_notfinite) == 1


def test_a_state_that_starts_infinite_is_not_a_bad_step():
  """reduce_on_plateau starts with best_value = inf: only finite -> non-finite counts."""
  optimizer = skip_nonfinite(optax.chain(jl.adam(0.1), jl.reduce_on_plateau()), 2)
  state = optimizer.init(PARAMS)
  assert np.isinf(state.inner_state[1].best_value)
  updates, state = optimizer.update(FINITE, state, PARAMS, value=jnp.float32(2.0))
  assert int(state.total_notfinite) == 0 and float(state.inner_state[1].best_value) == 2.0
  np.testing.assert_allclose(updates["w"], [-0.1, 0.1, -0.1], rtol=1e-6)


# Large gradients: Adam, AMSGrad and RMSProp square the gradient into v.

F32_SQRT_MAX = float(np.sqrt(np.finfo(np.float32).max))  # 1.8447e19


@pytest.mark.parametrize("factory", [jl.adam, jl.amsgrad, jl.rmsprop])
def test_a_gradient_of_1_9e19_gives_a_normal_first_step(factory):
  """g^2 overflows float32 above 1.8e19, but (sqrt(1 - b2) g)^2 does not: the first step is
  the usual -lr sign(g) (Adam) or -lr g / |g| sqrt(1 - decay) (RMSProp)."""
  grads = {"w": jnp.array([1.9e19, -1.9e19, 1.0], jnp.float32)}
  optimizer = factory(1e-3)
  updates, state = optimizer.update(grads, optimizer.init(grads))
  expected = -1e-3 * np.sign(grads["w"]) / (np.sqrt(0.01) if factory is jl.rmsprop else 1)
  np.testing.assert_allclose(updates["w"], expected, rtol=1e-5)
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(state))


def test_adam_absorbs_one_spike_up_to_the_documented_bound():
  """The documented bound of scale_by_adam: sqrt(float32 max) / sqrt(1 - b2) = 5.8e20."""
  bound = F32_SQRT_MAX / np.sqrt(1 - 0.999)
  np.testing.assert_allclose(bound, 5.83e20, rtol=1e-3)
  adam = jl.scale_by_adam(b2=0.999)
  below, _ = adam.update(jnp.float32([0.99 * bound]), adam.init(jnp.zeros(1)))
  _, above = adam.update(jnp.float32([1.01 * bound]), adam.init(jnp.zeros(1)))
  np.testing.assert_allclose(below, [1.0], rtol=1e-5)
  assert np.isinf(above.nu[0])


def test_beyond_the_bound_the_step_is_a_silent_zero_unless_wrapped():
  """The documented limit: v = inf makes the update 0 (silent, and forever: b2 inf = inf);
  skip_nonfinite sees the state go non-finite, rejects the step and keeps v finite."""
  grads = jnp.float32([1e21, 1.0])
  adam = jl.adam(1e-3)
  updates, state = adam.update(grads, adam.init(grads))
  assert updates[0] == 0 and np.isinf(state[0].nu[0])
  guarded = skip_nonfinite(jl.adam(1e-3), 3)
  updates, state = guarded.update(grads, guarded.init(grads))
  np.testing.assert_array_equal(updates, [0.0, 0.0])
  assert int(state.total_notfinite) == 1 and np.all(np.isfinite(state.inner_state[0].nu))


def test_adagrad_limit_is_sqrt_of_the_dtype_max():
  """AdaGrad's sum of squares has no (1 - decay) to scale by: 1.9e19 overflows it."""
  adagrad = jl.adagrad(1e-3)
  ok, _ = adagrad.update(jnp.float32([0.99 * F32_SQRT_MAX]), adagrad.init(jnp.zeros(1)))
  zero, state = adagrad.update(jnp.float32([1.9e19]), adagrad.init(jnp.zeros(1)))
  np.testing.assert_allclose(ok, [-1e-3], rtol=1e-5)
  assert zero[0] == 0 and np.isinf(state[0].sum_of_squares[0])


def test_float16_state_bounds_and_the_float32_state_remedy():
  """In a float16 state v overflows above 65504: one spike of 8.1e3 with b2 = 0.999. Initialising
  from float32 copies of the parameters keeps the state in float32; updates stay float16."""
  bound = np.sqrt(np.finfo(np.float16).max) / np.sqrt(1 - 0.999)
  adam = jl.adam(1e-3)
  params = jnp.zeros(2, jnp.float16)
  grads = jnp.array([0.98 * bound, 1.02 * bound], jnp.float16)
  _, state16 = adam.update(grads, adam.init(params))
  assert np.isfinite(state16[0].nu[0]) and np.isinf(state16[0].nu[1])
  updates, state32 = adam.update(grads, adam.init(params.astype(jnp.float32)))
  assert updates.dtype == jnp.float16 and state32[0].nu.dtype == jnp.float32
  np.testing.assert_allclose(np.float32(updates), [-1e-3, -1e-3], rtol=1e-3)
