"""Reduce-on-plateau step for step against torch's ReduceLROnPlateau on scripted losses; under
jit, scan and vmap; chained with optimizers through optax's `value` convention."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
import torch

import jaxopt_lab as jl


def scripted_losses() -> np.ndarray:
  rng = np.random.default_rng(0)
  return np.concatenate([
      np.linspace(1.0, 0.6, 15),             # improving
      0.6 + 0.01 * rng.standard_normal(25),  # a noisy plateau
      0.6 * 0.997 ** np.arange(1, 26),       # 0.3% better per step: below a 1% threshold
      np.linspace(0.5, 0.2, 10),             # improving again
      np.full(30, 0.2)])                     # flat


def torch_rates(losses, lr, **kwargs) -> np.ndarray:
  """torch's learning rate after each scheduler.step(loss), with a dummy optimizer."""
  optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
  scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", **kwargs)
  out = []
  for loss in losses:
    scheduler.step(float(loss))
    out.append(scheduler.get_last_lr()[0])
  return np.array(out)


def scales(transform, losses) -> jax.Array:
  """The scale after each update(value=loss), in one lax.scan."""

  def step(state, loss):
    _, state = transform.update(jnp.zeros([]), state, value=loss)
    return state, state.scale

  return jax.lax.scan(step, transform.init(jnp.zeros([])), jnp.asarray(losses))[1]


LR = 0.1
# torch's ReduceLROnPlateau keyword arguments; eps=0 since ours has no eps (see the docstring)
CASES = {
    "rel threshold 1e-2": dict(factor=0.5, patience=3, threshold=1e-2),
    "cooldown 4": dict(factor=0.1, patience=2, threshold=1e-4, cooldown=4),
    "patience 0, min_lr": dict(factor=0.5, patience=0, threshold=1e-2, cooldown=1, min_lr=1e-3),
    "abs threshold": dict(factor=0.5, patience=2, threshold=0.02, threshold_mode="abs"),
}


def ours(factor, patience, threshold, threshold_mode="rel", cooldown=0, min_lr=0.0):
  relative = threshold_mode == "rel"
  return jl.reduce_on_plateau(factor, patience, rtol=threshold if relative else 0.0,
                              atol=0.0 if relative else threshold, cooldown=cooldown,
                              min_scale=min_lr / LR)


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_step_for_step(name, x64):
  losses = scripted_losses()
  expected = torch_rates(losses, LR, eps=0.0, **CASES[name])
  assert len(set(expected)) >= 3  # at least two reductions to compare
  got = LR * np.asarray(jax.jit(lambda l: scales(ours(**CASES[name]), l))(losses))
  np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_accumulation_averages_values_before_each_evaluation(x64):
  losses, size = scripted_losses(), 5
  expected = torch_rates(losses.reshape(-1, size).mean(axis=1), LR, eps=0.0, factor=0.5,
                         patience=1, threshold=1e-2)
  assert len(set(expected)) >= 3
  transform = jl.reduce_on_plateau(0.5, 1, rtol=1e-2, accumulation_size=size)
  got = LR * np.asarray(scales(transform, losses)).reshape(-1, size)
  np.testing.assert_allclose(got[:, -1], expected, rtol=1e-12)  # evaluated every 5th value
  np.testing.assert_allclose(got[1:, :-1], got[:-1, -1:] * np.ones((1, size - 1)))  # held


def test_optax_patience_is_one_more(x64):
  """optax.contrib.reduce_on_plateau reduces when the count reaches patience, torch and ours when
  it exceeds it: the same scales with optax's patience one larger."""
  losses = scripted_losses()
  theirs = optax.contrib.reduce_on_plateau(factor=0.5, patience=4, rtol=1e-2, cooldown=2)
  expected = np.asarray(scales(theirs, losses))
  assert len(set(expected)) >= 3
  got = scales(jl.reduce_on_plateau(0.5, 3, rtol=1e-2, cooldown=2), losses)
  np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_vmap_over_every_parameter_equals_a_loop():
  losses = jnp.asarray(scripted_losses(), jnp.float32)
  parameters = {"factor": [0.5, 0.1, 0.3], "patience": [3, 0, 5], "rtol": [1e-2, 1e-4, 0.0],
                "atol": [0.0, 0.0, 0.01], "cooldown": [0, 4, 1], "accumulation_size": [1, 2, 1],
                "min_scale": [0.0, 0.01, 0.05]}
  batched = jax.jit(jax.vmap(lambda p: scales(jl.reduce_on_plateau(**p), losses)))(
      {k: jnp.asarray(v) for k, v in parameters.items()})
  looped = [scales(jl.reduce_on_plateau(**{k: v[i] for k, v in parameters.items()}), losses)
            for i in range(3)]
  np.testing.assert_allclose(batched, np.stack(looped), rtol=1e-6)
  assert len({tuple(np.asarray(row)) for row in batched}) == 3  # the parameters mattered


def test_scales_updates_in_a_chain_through_optax_value():
  """optax.chain forwards `value` to it; the step is the inner optimizer's times the scale."""
  optimizer = optax.chain(jl.sgd(0.1), jl.reduce_on_plateau(factor=0.5, patience=0))
  params = {"w": jnp.ones(3), "b": jnp.ones([], jnp.bfloat16)}
  grads = jax.tree.map(jnp.ones_like, params)
  state = optimizer.init(params)
  update = jax.jit(optimizer.update)
  steps = []
  for loss in [1.0, 2.0, 2.0, 0.5]:
    updates, state = update(grads, state, params, value=loss)
    assert updates["b"].dtype == jnp.bfloat16
    steps.append(float(updates["w"][0]))
  np.testing.assert_allclose(steps, [-0.1, -0.05, -0.025, -0.025])


@pytest.mark.parametrize("make, message", [
    (lambda: jl.reduce_on_plateau(factor=1.5),
     "reduce_on_plateau(factor=1.5): factor must be in [0, 1], got 1.5"),
    (lambda: jl.reduce_on_plateau(patience=2.5),
     "reduce_on_plateau(patience=2.5): patience must be an integer in [0, inf), got 2.5"),
    (lambda: jl.reduce_on_plateau(accumulation_size=0),
     "reduce_on_plateau(accumulation_size=0): accumulation_size must be in (0, inf), "
     "got 0"),
])
def test_bad_values_raise_at_construction(make, message):
  with pytest.raises(ValueError) as error:
    make()
  assert str(error.value) == message


def test_a_constant_negative_loss_reduces_the_rate_as_a_positive_one_does_pytorch_47513():
  """torch (and optax.contrib) compare with (1 - rtol) best, which lies above a negative best:
  a constant loss of -1 "improves" at every step and the rate never drops. Ours compares with
  best - rtol |best|: -1 and +1 plateau alike."""
  transform = jl.reduce_on_plateau(factor=0.5, patience=2, rtol=1e-4)
  torch_positive = torch_rates(np.ones(10), LR, eps=0.0, factor=0.5, patience=2, threshold=1e-4)
  np.testing.assert_allclose(LR * np.asarray(scales(transform, np.ones(10))), torch_positive)
  np.testing.assert_allclose(LR * np.asarray(scales(transform, -np.ones(10))), torch_positive)
  assert torch_positive[-1] == LR / 8  # three reductions in ten evaluations
  torch_negative = torch_rates(np.full(10, -1.0), LR, eps=0.0, factor=0.5, patience=2,
                               threshold=1e-4)
  assert (torch_negative == LR).all()  # the bug this test documents, in torch 2.13


def test_on_negative_losses_it_is_torchs_max_mode_on_minus_the_loss(x64):
  """For best < 0, best - rtol |best| = (1 + rtol) best: torch's mode="max" rule on -loss."""
  losses = scripted_losses() - 2.0  # every loss negative
  for kwargs in CASES.values():
    relative = kwargs.get("threshold_mode", "rel") == "rel"
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", eps=0.0,
                                                           **kwargs)
    expected = []
    for loss in losses:
      scheduler.step(-float(loss))
      expected.append(scheduler.get_last_lr()[0])
    got = LR * np.asarray(jax.jit(lambda l: scales(ours(**kwargs), l))(losses))
    assert len(set(expected)) >= 2 or not relative
    np.testing.assert_allclose(got, expected, rtol=1e-12)
