"""Schedules against their formulas (NumPy float64), optax and torch.optim.lr_scheduler; vmap over
every parameter equal to a loop; one jit trace for any values; validation; the study, run small."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest
import torch

import jaxopt_lab as jl
from helpers import run
from jaxopt_lab import cli

STEPS = np.arange(241)


def rates(schedule, steps=STEPS, dtype=jnp.int32) -> np.ndarray:
  return np.asarray(jax.jit(schedule)(jnp.asarray(steps, dtype)))


# ---- the formulas, one step at a time, in float64 ----

def ref_multistep(t, init, boundaries, gamma):
  return init * gamma ** sum(t >= b for b in boundaries)


def ref_exponential(t, init, transition_steps, decay_rate, staircase=False):
  progress = t / transition_steps
  return init * decay_rate ** (math.floor(progress) if staircase else progress)


def ref_cosine(t, init, decay_steps, eta_min=0.0):
  progress = min(t, decay_steps) / decay_steps
  return eta_min + (init - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def ref_linear(t, init, decay_steps, end=0.0):
  return init + (end - init) * min(t, decay_steps) / decay_steps


def ref_inverse_sqrt(t, init, timescale):
  return init / math.sqrt(1 + t / timescale)


def ref_warmup(t, inner, warmup_steps, init=0.0):
  if t < warmup_steps:
    return init + (inner(0) - init) * t / warmup_steps
  return inner(t - warmup_steps)


def ref_sgdr(t, init, period, multiplier=1.0, eta_min=0.0):
  start = 0.0
  while t >= start + period:  # walk restart by restart
    start, period = start + period, period * multiplier
  return eta_min + (init - eta_min) * (1 + math.cos(math.pi * (t - start) / period)) / 2


# name: () -> (our schedule, its formula t -> rate); built inside the test, under x64
FORMULAS = {
    "constant": lambda: (jl.constant(0.03), lambda t: 0.03),
    "multistep_decay": lambda: (jl.multistep_decay(0.1, [30, 90, 200]),
                                lambda t: ref_multistep(t, 0.1, [30, 90, 200], 0.1)),
    "multistep_decay unsorted": lambda: (jl.multistep_decay(0.1, np.array([200, 30]), 0.5),
                                         lambda t: ref_multistep(t, 0.1, [30, 200], 0.5)),
    "step_decay": lambda: (jl.step_decay(0.1, 200, (0.3, 0.6, 0.9)),
                           lambda t: ref_multistep(t, 0.1, [60, 120, 180], 0.1)),
    "step_decay at fractions that round": lambda: (  # 0.29 * 100 = 28.999999999999996
        jl.step_decay(0.1, 100, (0.29, 0.57), 0.5),
        lambda t: ref_multistep(t, 0.1, [29, 57], 0.5)),
    "exponential_decay": lambda: (jl.exponential_decay(0.1, 25, 0.5),
                                  lambda t: ref_exponential(t, 0.1, 25, 0.5)),
    "exponential_decay staircase": lambda: (jl.exponential_decay(0.1, 25, 0.5, staircase=True),
                                            lambda t: ref_exponential(t, 0.1, 25, 0.5, True)),
    "cosine_decay": lambda: (jl.cosine_decay(0.1, 150), lambda t: ref_cosine(t, 0.1, 150)),
    "cosine_decay eta_min": lambda: (jl.cosine_decay(0.1, 150, 0.01),
                                     lambda t: ref_cosine(t, 0.1, 150, 0.01)),
    "linear_decay": lambda: (jl.linear_decay(0.1, 150, 0.02),
                             lambda t: ref_linear(t, 0.1, 150, 0.02)),
    "inverse_sqrt": lambda: (jl.inverse_sqrt(0.1, 20), lambda t: ref_inverse_sqrt(t, 0.1, 20)),
    "warmup into cosine": lambda: (
        jl.warmup(jl.cosine_decay(0.1, 150, 0.01), 30, 0.01),
        lambda t: ref_warmup(t, lambda s: ref_cosine(s, 0.1, 150, 0.01), 30, 0.01)),
    "warmup into exponential": lambda: (
        jl.warmup(jl.exponential_decay(0.1, 25, 0.5), 17),
        lambda t: ref_warmup(t, lambda s: ref_exponential(s, 0.1, 25, 0.5), 17)),
    "warmup into step_decay": lambda: (
        jl.warmup(jl.step_decay(0.1, 200), 20, 0.05),
        lambda t: ref_warmup(t, lambda s: ref_multistep(s, 0.1, [100, 150], 0.1), 20, 0.05)),
    "warmup into sgdr": lambda: (
        jl.warmup(jl.sgdr(0.1, 30), 12.5),
        lambda t: ref_warmup(t, lambda s: ref_sgdr(s, 0.1, 30), 12.5)),
    "warmup of length 0": lambda: (jl.warmup(jl.cosine_decay(0.1, 150), 0),
                                   lambda t: ref_cosine(t, 0.1, 150)),
    "warmup into any function": lambda: (
        jl.warmup(lambda s: 0.1 / (1 + 0.05 * s), 20),
        lambda t: ref_warmup(t, lambda s: 0.1 / (1 + 0.05 * s), 20)),
    "sgdr": lambda: (jl.sgdr(0.1, 20), lambda t: ref_sgdr(t, 0.1, 20)),
    "sgdr T_mult 2, eta_min": lambda: (jl.sgdr(0.1, 10, 2, 0.005),
                                       lambda t: ref_sgdr(t, 0.1, 10, 2, 0.005)),
    "sgdr T_mult 1.5, T_0 7.5": lambda: (jl.sgdr(0.1, 7.5, 1.5),
                                         lambda t: ref_sgdr(t, 0.1, 7.5, 1.5)),
}


@pytest.mark.parametrize("name", FORMULAS)
def test_matches_formula_float64(name, x64):
  schedule, formula = FORMULAS[name]()
  expected = np.array([formula(t) for t in STEPS])
  np.testing.assert_allclose(rates(schedule), expected, rtol=1e-12, atol=1e-16)


def test_matches_formulas_in_float32():
  for name, build in FORMULAS.items():
    schedule, formula = build()
    got = rates(schedule)
    assert got.dtype == np.float32, name
    np.testing.assert_allclose(got, [formula(t) for t in STEPS], rtol=2e-5, atol=1e-7,
                               err_msg=name)


def test_transformer_schedule_is_warmup_into_inverse_sqrt(x64):
  d_model, w = 512, 400  # Vaswani et al. 2017: d^-0.5 min(t^-0.5, t w^-1.5), peak d^-0.5 w^-0.5
  steps = np.arange(1, 5000)
  schedule = jl.warmup(jl.inverse_sqrt(d_model ** -0.5 * w ** -0.5, w), w)
  transformer = d_model ** -0.5 * np.minimum(steps ** -0.5, steps * w ** -1.5)
  np.testing.assert_allclose(rates(schedule, steps), transformer, rtol=1e-12)


def test_sgdr_restarts_land_on_the_right_step_in_float32():
  """The closed-form restart index, in float32, over many periods and multipliers: an index off
  by one anywhere would show as an error of the size of the peak rate. Steps that miss a
  restart by less than 2e-5 t (m = 1.1 puts S_i near integers; the schedule snaps steps within
  64 ulps of a restart onto it) may go either way and are skipped."""
  steps = np.arange(3000)
  periods = np.arange(1.0, 40.0)
  sweep = jax.jit(jax.vmap(lambda p, m: jl.sgdr(1.0, p, m)(steps), (0, None)))
  for multiplier in (1.0, 2.0, 3.0, 1.5, 1.1):
    curves = sweep(jnp.asarray(periods, jnp.float32), jnp.float32(multiplier))
    m = float(np.float32(multiplier))  # the multiplier the float32 run sees
    for period, curve in zip(periods, np.asarray(curves)):
      starts = [0.0]
      while starts[-1] <= steps[-1]:
        starts.append(starts[-1] + period * m ** (len(starts) - 1))
      index = np.searchsorted(starts, steps, side="right") - 1
      within = (steps - np.take(starts, index)) / (period * m ** index)
      miss = np.abs(steps[:, None] - np.array(starts)[None]).min(axis=1)
      clear = (miss == 0) | (miss > 2e-5 * np.maximum(steps, 1))
      assert clear.mean() > 0.99
      np.testing.assert_allclose(curve[clear], (1 + np.cos(np.pi * within))[clear] / 2,
                                 atol=2e-5, err_msg=f"T_0 {period}, T_mult {multiplier}")


# ---- against optax, where the conventions match ----

OPTAX = {
    "cosine_decay_schedule (alpha = eta_min / init)": (
        lambda: optax.cosine_decay_schedule(0.1, 150, alpha=0.1),
        lambda: jl.cosine_decay(0.1, 150, eta_min=0.01)),
    "exponential_decay": (lambda: optax.exponential_decay(0.1, 25, 0.5),
                          lambda: jl.exponential_decay(0.1, 25, 0.5)),
    "exponential_decay staircase": (lambda: optax.exponential_decay(0.1, 25, 0.5, staircase=True),
                                    lambda: jl.exponential_decay(0.1, 25, 0.5, staircase=True)),
    "warmup_cosine_decay_schedule": (
        lambda: optax.warmup_cosine_decay_schedule(0.01, 0.1, 30, 200, end_value=0.001),
        lambda: jl.warmup(jl.cosine_decay(0.1, 200 - 30, 0.001), 30, 0.01)),
    "sgdr_schedule": (
        lambda: optax.sgdr_schedule([dict(init_value=0.1, peak_value=0.1, decay_steps=10 * 2 ** i,
                                          warmup_steps=0, end_value=0.005) for i in range(5)]),
        lambda: jl.sgdr(0.1, 10, 2, 0.005)),
    "linear_schedule": (lambda: optax.linear_schedule(0.1, 0.02, 150),
                        lambda: jl.linear_decay(0.1, 150, 0.02)),
    "piecewise_constant_schedule": (
        lambda: optax.piecewise_constant_schedule(0.1, {30: 0.1, 90: 0.1, 200: 0.1}),
        lambda: jl.multistep_decay(0.1, [30, 90, 200], 0.1)),
    # the options of issue 18
    "cosine_decay_schedule exponent": (
        lambda: optax.cosine_decay_schedule(0.1, 150, alpha=0.1, exponent=2.5),
        lambda: jl.cosine_decay(0.1, 150, eta_min=0.01, exponent=2.5)),
    "exponential_decay transition_begin, end_value": (
        lambda: optax.exponential_decay(0.1, 25, 0.5, transition_begin=40, end_value=0.01),
        lambda: jl.exponential_decay(0.1, 25, 0.5, transition_begin=40, end_value=0.01)),
    "exponential_decay staircase, transition_begin, end_value": (
        lambda: optax.exponential_decay(0.1, 25, 0.5, transition_begin=13, staircase=True,
                                        end_value=0.02),
        lambda: jl.exponential_decay(0.1, 25, 0.5, True, transition_begin=13, end_value=0.02)),
    "exponential_decay growing, end_value": (
        lambda: optax.exponential_decay(0.01, 25, 1.5, end_value=0.05),
        lambda: jl.exponential_decay(0.01, 25, 1.5, end_value=0.05)),
}


def test_steps_and_lengths_past_int32_as_optax():
  """optax 0.2.8 gives 975.528 here; a Python int of 10**10 overflowed our int32 (issue 17)."""
  ours = float(jl.cosine_decay(1000.0, decay_steps=int(1e10))(int(1e9)))
  assert ours == pytest.approx(float(optax.cosine_decay_schedule(1000.0, int(1e10))(int(1e9))),
                               rel=1e-6)
  assert ours == pytest.approx(975.528, rel=1e-6)
  for schedule in (jl.exponential_decay(1.0, int(1e10), 0.5), jl.linear_decay(1.0, int(1e10)),
                   jl.warmup(jl.constant(1.0), int(3e9)), jl.sgdr(1.0, int(1e10))):
    assert np.isfinite(float(schedule(int(1e9)))) and np.isfinite(float(schedule(int(1e10))))
  assert float(jl.exponential_decay(1.0, int(1e10), 0.5)(int(1e10))) == pytest.approx(0.5)


@pytest.mark.parametrize("name", OPTAX)
def test_matches_optax(name, x64):
  theirs, ours = OPTAX[name]
  expected = rates(theirs(), dtype=jnp.int64)  # optax computes in the count's precision
  assert np.ptp(expected) > 0.01
  np.testing.assert_allclose(rates(ours()), expected, rtol=1e-12, atol=1e-16)


# ---- against torch.optim.lr_scheduler, driven with a dummy optimizer ----

def torch_rates(make_scheduler, lr: float, steps: int) -> np.ndarray:
  """get_last_lr() before each of `steps` optimizer steps: the rate of update t = 0, 1, ..."""
  optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
  scheduler = make_scheduler(optimizer)
  out = []
  for _ in range(steps):
    out.append(scheduler.get_last_lr()[0])
    optimizer.step()
    scheduler.step()
  return np.array(out)


S = torch.optim.lr_scheduler
TORCH = {
    "StepLR": (lambda o: S.StepLR(o, step_size=25, gamma=0.5),
               lambda: jl.exponential_decay(0.1, 25, 0.5, staircase=True), 241),
    "MultiStepLR": (lambda o: S.MultiStepLR(o, milestones=[30, 90, 200], gamma=0.1),
                    lambda: jl.multistep_decay(0.1, [30, 90, 200]), 241),
    "MultiStepLR at fractions": (lambda o: S.MultiStepLR(o, milestones=[60, 120, 180]),
                                 lambda: jl.step_decay(0.1, 200, (0.3, 0.6, 0.9)), 241),
    "ExponentialLR": (lambda o: S.ExponentialLR(o, gamma=0.98),
                      lambda: jl.exponential_decay(0.1, 1, 0.98), 241),
    "CosineAnnealingLR": (lambda o: S.CosineAnnealingLR(o, T_max=150, eta_min=0.01),
                          lambda: jl.cosine_decay(0.1, 150, 0.01), 151),  # torch rises after T_max
    "CosineAnnealingWarmRestarts": (
        lambda o: S.CosineAnnealingWarmRestarts(o, T_0=20, eta_min=0.005),
        lambda: jl.sgdr(0.1, 20, 1, 0.005), 241),
    "CosineAnnealingWarmRestarts T_mult 2": (
        lambda o: S.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.005),
        lambda: jl.sgdr(0.1, 10, 2, 0.005), 241),
    "CosineAnnealingWarmRestarts T_mult 3": (
        lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3),
        lambda: jl.sgdr(0.1, 3, 3), 241),
    "LinearLR warmup": (lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=40),
                        lambda: jl.linear_decay(0.025, 40, 0.1), 241),
    "LinearLR decay": (lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=150),
                       lambda: jl.linear_decay(0.1, 150, 0.01), 241),
}


@pytest.mark.parametrize("name", TORCH)
def test_matches_torch(name, x64):
  make_scheduler, ours, steps = TORCH[name]
  expected = torch_rates(make_scheduler, 0.1, steps)
  assert np.ptp(expected) > 0.01
  np.testing.assert_allclose(rates(ours(), np.arange(steps)), expected, rtol=1e-10, atol=1e-15)


# ---- every parameter a tracer: vmap equal to a loop, one trace for any values ----

# name: (parameters -> schedule, three values of every parameter)
SWEEPS = {
    "constant": (lambda p: jl.constant(p["value"]), {"value": [0.1, 0.03, 0.0]}),
    "multistep_decay": (
        lambda p: jl.multistep_decay(p["init"], [p["b1"], p["b2"]], p["gamma"]),
        {"init": [0.1, 0.2, 0.05], "b1": [10.0, 40.0, 0.0], "b2": [100.0, 60.0, 5.0],
         "gamma": [0.1, 0.5, 0.3]}),
    "step_decay": (
        lambda p: jl.step_decay(p["init"], p["total"], [p["f1"], 0.9], p["gamma"]),
        {"init": [0.1, 0.2, 0.05], "total": [100.0, 200.0, 50.0], "f1": [0.3, 0.5, 0.1],
         "gamma": [0.1, 0.5, 0.3]}),
    "exponential_decay": (
        lambda p: jl.exponential_decay(p["init"], p["transition"], p["rate"], p["staircase"]),
        {"init": [0.1, 0.2, 0.05], "transition": [10.0, 25.0, 3.0], "rate": [0.5, 0.9, 0.97],
         "staircase": [True, False, True]}),
    "cosine_decay": (lambda p: jl.cosine_decay(p["init"], p["decay"], p["eta_min"]),
                     {"init": [0.1, 0.2, 0.05], "decay": [50.0, 150.0, 300.0],
                      "eta_min": [0.0, 0.01, 0.02]}),
    "linear_decay": (lambda p: jl.linear_decay(p["init"], p["decay"], p["end"]),
                     {"init": [0.1, 0.2, 0.05], "decay": [50.0, 150.0, 300.0],
                      "end": [0.0, 0.01, 0.1]}),
    "inverse_sqrt": (lambda p: jl.inverse_sqrt(p["init"], p["timescale"]),
                     {"init": [0.1, 0.2, 0.05], "timescale": [1.0, 20.0, 300.0]}),
    "warmup": (
        lambda p: jl.warmup(jl.cosine_decay(p["peak"], p["decay"], p["eta_min"]), p["warmup"],
                            p["init"]),
        {"warmup": [0.0, 7.0, 30.0], "init": [0.0, 0.01, 0.001], "peak": [0.1, 0.2, 0.05],
         "decay": [50.0, 150.0, 300.0], "eta_min": [0.0, 0.01, 0.02]}),
    "sgdr": (lambda p: jl.sgdr(p["init"], p["period"], p["multiplier"], p["eta_min"]),
             {"init": [0.1, 0.2, 0.05], "period": [5.0, 12.0, 20.0],
              "multiplier": [1.0, 1.5, 2.0], "eta_min": [0.0, 0.01, 0.02]}),
}


@pytest.mark.parametrize("name", SWEEPS)
def test_vmap_over_every_parameter_equals_a_loop(name):
  make, parameters = SWEEPS[name]
  steps = jnp.asarray(STEPS, jnp.int32)
  batched = jax.vmap(lambda p: make(p)(steps))({k: jnp.asarray(v) for k, v in parameters.items()})
  looped = [make({k: v[i] for k, v in parameters.items()})(steps) for i in range(3)]
  np.testing.assert_allclose(batched, np.stack(looped), rtol=1e-6, atol=1e-9)
  if name != "constant":
    assert np.ptp(np.asarray(batched), axis=0).max() > 1e-3  # the parameters mattered


@pytest.mark.parametrize("name", SWEEPS)
def test_one_trace_for_any_parameter_values(name):
  make, parameters = SWEEPS[name]
  traces = []

  def curve(p):
    traces.append(1)
    return make(p)(jnp.arange(50))

  columns = {k: jnp.asarray(v) for k, v in parameters.items()}
  jitted = jax.jit(curve)
  for i in range(3):
    jitted({k: v[i] for k, v in columns.items()}).block_until_ready()
  assert len(traces) == 1


# MOTIVATION, not a requirement on our code: optax 0.2.8's schedules branch in Python on their
# parameters, so vmapping over them fails, where ours run and equal optax's value by value.
# If a later optax passes under vmap, the `pytest.raises` below fails: drop that claim then.
OPTAX_FAILS_UNDER_VMAP = {
    "warmup_cosine_decay_schedule(warmup_steps)": (
        lambda w: optax.warmup_cosine_decay_schedule(0.0, 0.1, w, 200),
        lambda w: jl.warmup(jl.cosine_decay(0.1, 200 - w), w), [5, 10, 20]),
    "exponential_decay(decay_rate)": (lambda r: optax.exponential_decay(0.1, 25, r),
                                      lambda r: jl.exponential_decay(0.1, 25, r), [0.5, 0.7, 0.9]),
    "sgdr_schedule(decay_steps)": (
        lambda T: optax.sgdr_schedule(
            [dict(init_value=0.1, peak_value=0.1, decay_steps=T, warmup_steps=0)] * 10),
        lambda T: jl.sgdr(0.1, T), [10, 20, 30]),
}


@pytest.mark.parametrize("name", OPTAX_FAILS_UNDER_VMAP)
def test_motivation_optax_fails_under_vmap_where_ours_runs(name):
  theirs, ours, values = OPTAX_FAILS_UNDER_VMAP[name]
  steps = jnp.arange(100)
  with pytest.raises(jax.errors.TracerBoolConversionError):
    jax.vmap(lambda v: theirs(v)(steps))(jnp.asarray(values))
  batched = jax.vmap(lambda v: ours(v)(steps))(jnp.asarray(values))
  np.testing.assert_allclose(batched, [theirs(v)(steps) for v in values], rtol=1e-5, atol=1e-7)


# ---- validation, and schedules driving optimizers ----

@pytest.mark.parametrize("make, message", [
    (lambda: jl.cosine_decay(0.1, decay_steps=0),
     "cosine_decay(decay_steps=0): decay_steps must be in [1, inf), got 0"),
    (lambda: jl.constant(-1.0), "constant(value=-1.0): value must be in [0, inf), got -1.0"),
    (lambda: jl.step_decay(0.1, 100, (0.5, 1.5)),
     "step_decay(fractions=1.5): fractions must be in [0, 1], got 1.5"),
    (lambda: jl.step_decay(0.1, 0.5), "step_decay(total_steps=0.5): total_steps must be in "
     "[1, inf), got 0.5"),
    (lambda: jl.multistep_decay(0.1, np.array([10, -5])),
     "multistep_decay(boundaries=-5.0): boundaries must be in [0, inf), got -5.0"),
    (lambda: jl.exponential_decay(0.1, 10, 0.0),
     "exponential_decay(decay_rate=0.0): decay_rate must be in (0, inf), got 0.0"),
    (lambda: jl.linear_decay(-0.1, 10),
     "linear_decay(init_value=-0.1): init_value must be in [0, inf), got -0.1"),
    (lambda: jl.inverse_sqrt(0.1, 0), "inverse_sqrt(timescale=0): timescale must be in (0, inf), "
     "got 0"),
    (lambda: jl.warmup(jl.constant(0.1), -1),
     "warmup(warmup_steps=-1): warmup_steps must be in [0, inf), got -1"),
    (lambda: jl.sgdr(0.1, 10, 0.5),
     "sgdr(period_multiplier=0.5): period_multiplier must be in [1, inf), got 0.5"),
    (lambda: jl.sgdr(0.1, 10, eta_min=-0.1), "sgdr(eta_min=-0.1): eta_min must be in [0, inf), "
     "got -0.1"),
])
def test_bad_values_raise_at_construction(make, message):
  with pytest.raises(ValueError) as error:
    make()
  assert str(error.value) == message


def test_schedules_drive_jaxopt_lab_and_optax_optimizers(x64):
  """On f(w) = sum(w) every gradient is 1, so SGD's t-th step is exactly -lr(t) (Adam's too,
  with eps = 0): the optimizers call the schedule at the count of earlier updates."""
  schedule = jl.warmup(jl.sgdr(0.1, 10, 2.0, 0.01), 5, 0.02)
  expected = -rates(schedule, np.arange(40))
  for optimizer in (jl.sgd(schedule), optax.sgd(schedule), jl.adam(schedule, eps=0.0)):
    path = run(optimizer, jnp.sum, np.zeros(1), 40)
    np.testing.assert_allclose(np.diff(path[:, 0]), expected, rtol=1e-9)


def test_study_quick(tmp_path):
  assert cli.main(["schedules", "--quick", "--out", str(tmp_path)]) == 0
  assert (tmp_path / "schedules.png").stat().st_size > 10_000
  table = pd.read_csv(tmp_path / "schedules.csv")
  assert table.family.nunique() == 9
  assert len(table) == 9 * 3 * 200
  assert table.learning_rate.between(0, 0.1 + 1e-7).all()
  assert cli.main(["schedules", "--quick", "--steps", "10", "--out", str(tmp_path)]) == 2
