"""Dtypes: float32, bfloat16, float16 and complex64 parameters keep their dtypes, and
hyperparameters their precision. The optimizer table (sgd ... amsgrad) is covered in
test_blocks.py (test_dtypes_are_kept: same-dtype updates, stable state over three jitted steps,
finite; test_hyperparameters_keep_their_precision_in_bfloat16: RMSProp and Adam with
b2 = 0.999); this file adds every other building block, moments kept in a smaller dtype
(mu_dtype, accumulator_dtype), concrete bfloat16 hyperparameters, mixed dtypes and the
comparison with optax."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lab as jl
from jaxopt_lab.optim.nonfinite import skip_nonfinite

DTYPES = [jnp.float32, jnp.bfloat16, jnp.float16, jnp.complex64]
TRANSFORMS = {
    "scale_by_learning_rate": lambda: jl.scale_by_learning_rate(0.1),
    "scale_by_momentum": lambda: jl.scale_by_momentum(0.9),
    "scale_by_nesterov": lambda: jl.scale_by_nesterov(0.9),
    "scale_by_adagrad": lambda: jl.scale_by_adagrad(),
    "scale_by_rmsprop": lambda: jl.scale_by_rmsprop(0.999),
    "scale_by_adam": lambda: jl.scale_by_adam(),
    "scale_by_adam(amsgrad=True)": lambda: jl.scale_by_adam(amsgrad=True),
    "scale_by_adam(mu_dtype=bfloat16)": lambda: jl.scale_by_adam(mu_dtype=jnp.bfloat16),
    "scale_by_rmsprop(centered=True)": lambda: jl.scale_by_rmsprop(0.99, centered=True),
    "rmsprop(momentum=0.9)": lambda: jl.rmsprop(1e-3, momentum=0.9),
    "momentum(accumulator_dtype=bfloat16)": lambda: jl.momentum(0.1,
                                                                accumulator_dtype=jnp.bfloat16),
    "add_decayed_weights": lambda: jl.add_decayed_weights(0.1),
    "clip_by_global_norm": lambda: jl.clip_by_global_norm(0.5),
    "momentum_velocity_form": lambda: jl.momentum_velocity_form(0.1),
    "nesterov_lookahead_form": lambda: jl.nesterov_lookahead_form(0.1),
    "nesterov_change_of_variables": lambda: jl.nesterov_change_of_variables(0.1),
    "adam(cosine_decay)": lambda: jl.adam(jl.cosine_decay(1e-2, 10)),
    "skip_nonfinite(adamw)": lambda: skip_nonfinite(jl.adamw(1e-2)),
    "adam+reduce_on_plateau": lambda: optax.chain(jl.adam(1e-2), jl.reduce_on_plateau()),
}


def params_of(dtype):
  return {"w": jnp.linspace(-1, 1, 6, dtype=dtype), "b": jnp.ones((), dtype)}


def leaf_dtypes(tree):
  return [x.dtype for x in jax.tree.leaves(tree)]


def run_all(transforms: dict, grads, params, init_params, steps: int):
  """Every transform for `steps` steps on the same gradients, all in one jitted program (one
  compilation per dtype): {name: (initial state, [(updates, state) after each step])}."""

  def run():
    results = {}
    for name, make in transforms.items():
      transform = optax.with_extra_args_support(make())
      state = initial = transform.init(init_params)
      history = []
      for _ in range(steps):
        updates, state = transform.update(grads, state, params, value=jnp.float32(1.0))
        history.append((updates, state))
      results[name] = (initial, history)
    return results

  return jax.jit(run)()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: jnp.dtype(d).name)
def test_every_block_keeps_dtypes_over_jitted_steps(dtype):
  params = params_of(dtype)
  results = run_all(TRANSFORMS, params, params, params, steps=4)  # gradient of |w|^2 / 2
  for name, (initial, history) in results.items():
    for updates, state in history:
      assert leaf_dtypes(updates) == [jnp.dtype(dtype)] * 2, name
      assert leaf_dtypes(state) == leaf_dtypes(initial), name
      assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates)), name


MIXED = ["scale_by_adam", "scale_by_adam(amsgrad=True)", "scale_by_rmsprop", "nesterov_change_of_variables",
         "skip_nonfinite(adamw)"]


@pytest.mark.parametrize("state_dtype,grad_dtype", [
    (jnp.float32, jnp.bfloat16), (jnp.float32, jnp.float16), (jnp.bfloat16, jnp.float32)],
    ids=["f32-state-bf16-grads", "f32-state-f16-grads", "bf16-state-f32-grads"])
def test_mixed_precision_updates_follow_the_gradients_and_state_its_own_dtype(
    state_dtype, grad_dtype):
  """A state initialised from float32 master weights stays float32 when fed low-precision
  gradients, and the updates come back in the gradients' dtype (and vice versa)."""
  params = params_of(state_dtype)
  results = run_all({name: TRANSFORMS[name] for name in MIXED}, params_of(grad_dtype), params,
                    params, steps=3)
  for name, (initial, history) in results.items():
    for updates, state in history:
      assert leaf_dtypes(updates) == [jnp.dtype(grad_dtype)] * 2, name
      assert leaf_dtypes(state) == leaf_dtypes(initial), name


def adam_float32_reference(grads, steps, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
  """Adam's updates in float64 NumPy from the (bf16-rounded) gradients, exact hyperparameters."""
  g = np.asarray(grads, np.float64)
  m = v = 0.0
  out = []
  for t in range(1, steps + 1):
    m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    out.append(-lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps))
  return np.stack(out)


def test_b2_keeps_its_precision_with_bfloat16_params_unlike_optax_1414():
  """b2 = 0.999 is 1.0 in bfloat16. Passed as a Python float, a float32 array or a traced
  value, ours stays 0.999: the bias correction 1 - b2^t is 1e-3 at t = 1, and 5 steps match a
  float64 computation to bfloat16 rounding. optax.inject_hyperparams (optax issue #1414, still
  in optax 0.2.8) stores b2 in the parameters' dtype, as 1.0, and its updates are NaN."""
  params = {"w": jnp.array([0.5, -1.0, 3.0], jnp.bfloat16)}
  expected = adam_float32_reference(np.float32(params["w"]), 5)

  def five_steps(b2):
    optimizer = jl.adam(1e-2, b2=b2)
    state, out = optimizer.init(params), []
    for _ in range(5):
      updates, state = optimizer.update(params, state)
      out.append(updates["w"])
    return jnp.stack(out)

  for b2 in (0.999, jnp.float32(0.999)):
    np.testing.assert_allclose(np.float32(five_steps(b2)), expected, rtol=8e-3)
  traced = jax.jit(jax.vmap(five_steps))(jnp.float32([0.999, 0.9]))
  np.testing.assert_allclose(np.float32(traced[0]), expected, rtol=8e-3)

  injected = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2, b2=0.999)
  state = injected.init(params)
  updates, state = injected.update(params, state)
  if optax.__version__ == "0.2.8":  # the behaviour this test documents; later versions may fix it
    assert state.hyperparams["b2"].dtype == jnp.bfloat16 and float(state.hyperparams["b2"]) == 1.0
    assert np.all(np.isnan(np.float32(updates["w"])))


@pytest.mark.parametrize("factory", [jl.adam, jl.amsgrad, jl.rmsprop, jl.adagrad])
def test_eps_keeps_its_precision_in_float16(factory):
  """eps = 1e-8 is 0 in float16: computed at that precision, a zero gradient gives 0 / 0 = NaN
  (as optax.adam does, optax PR #1755). Ours adds eps in float32: the update is exactly 0."""
  params = {"w": jnp.ones(3, jnp.float16)}
  zeros = {"w": jnp.zeros(3, jnp.float16)}
  optimizer = factory(1e-3, eps=1e-8)
  state = optimizer.init(params)
  for _ in range(3):
    updates, state = optimizer.update(zeros, state)
    np.testing.assert_array_equal(np.float32(updates["w"]), 0.0)
  theirs, _ = optax.adam(1e-3, eps=1e-8).update(zeros, optax.adam(1e-3).init(params))
  if optax.__version__ == "0.2.8":
    assert np.all(np.isnan(np.float32(theirs["w"])))


def test_a_bfloat16_state_cannot_hold_a_slow_average_a_float32_state_can():
  """The limit of a low-precision *state* (not of the hyperparameter): 0.999 v differs from v
  by less than half a bfloat16 ulp, so a bfloat16 v stalls (at 0.25 here, where the float64
  value after 1000 steps of g = 1 is 1 - 0.999^1000 = 0.632). Initialising the optimizer from
  float32 copies of the parameters keeps v in float32 and on the float64 value."""
  grads = jnp.ones(2, jnp.bfloat16)

  def final_nu(state_dtype):
    optimizer = jl.scale_by_adam(b2=0.999)
    step = lambda state, _: (optimizer.update(grads, state)[1], None)
    state = jax.lax.scan(step, optimizer.init(jnp.zeros(2, state_dtype)), length=1000)[0]
    return np.float32(state.nu[0])

  exact = 1 - 0.999 ** 1000
  np.testing.assert_allclose(final_nu(jnp.float32), exact, rtol=1e-4)
  assert final_nu(jnp.bfloat16) < 0.5 * exact
