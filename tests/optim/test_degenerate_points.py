"""Degenerate points: every block, optimizer and schedule of the public surface gives finite
values and finite forward and reverse derivatives (hypergradients) at zero gradients, zero
parameters, zero curvature, eps = 0, betas of 0, zero norms, empty leaves and phases of
length 0. The lists are checked against `jaxopt_lab.optim.__all__`, so a new block or
schedule cannot escape: it must be added here (or to NOT_A_STEP, saying why).

Each case is compiled once (hyperparameters, parameters and the loss's coefficients are traced
arguments) and hypothesis draws the values: each hyperparameter at its degenerate value or a
regular one, coefficients and parameters from {0, +-1, 2}, so zero gradients, zero-curvature
coordinates and zero norms all occur.
"""
import inspect
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxopt_lab as jl
from jaxopt_lab import optim
from jaxopt_lab.optim.nonfinite import skip_nonfinite

PROFILE = settings(derandomize=True, max_examples=20, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])

SIZE = 4


def tree(flat):
  """The parameters: a vector and an empty leaf."""
  return {"w": flat, "e": jnp.zeros((0,), flat.dtype)}


def loss(params, curvature, slope):
  """f(w) = 1/2 sum c_i w_i^2 + sum l_i w_i: zero gradients, zero curvature (c_i = 0) and a
  linear term the minimum cannot absorb all occur for the drawn (c, l, w)."""
  return 0.5 * jnp.sum(curvature * params["w"] ** 2) + jnp.sum(slope * params["w"])


def gradient(params, curvature, slope):
  """grad f, written out (differentiating through jax.grad would double every program)."""
  return {"w": curvature * params["w"] + slope, "e": params["e"]}


class Case(NamedTuple):
  make: Callable          # hyperparameters (dict of traced scalars) -> transformation
  hyper: dict             # name -> (degenerate value, regular value)
  reverse: bool = True    # False where a lax.while_loop (a line search) allows forward only


def sgd_with(block):
  return lambda h: jl.with_learning_rate(block(h), learning_rate=h["learning_rate"])


LR = {"learning_rate": (0.0, 0.1)}
ADAM = {"b1": (0.0, 0.9), "b2": (0.0, 0.99), "eps": (0.0, 1e-8), "eps_root": (0.0, 1e-8)}
TRANSFORMS = {
    "sgd": Case(lambda h: jl.sgd(h["learning_rate"]), LR),
    "rmsprop[momentum]": Case(
        lambda h: jl.rmsprop(h["learning_rate"], h["decay"], h["eps"], h["momentum"]),
        {**LR, "decay": (0.0, 0.9), "eps": (0.0, 1e-8), "momentum": (0.0, 0.9)}),
    "adam": Case(lambda h: jl.adam(h["learning_rate"], h["b1"], h["b2"], h["eps"],
                                   eps_root=h["eps_root"]), {**LR, **ADAM}),
    "scale_by_learning_rate": Case(
        lambda h: jl.scale_by_learning_rate(jl.cosine_decay(h["peak"], h["length"])),
        {"peak": (0.0, 0.1), "length": (0.0, 10.0)}),
    "with_learning_rate": Case(
        lambda h: jl.with_learning_rate(jl.scale_by_nesterov(), jl.add_decayed_weights(0.1),
                                        learning_rate=jl.linear_decay(0.1, h["length"])),
        {"length": (0.0, 10.0)}),
    "scale_by_momentum": Case(sgd_with(lambda h: jl.scale_by_momentum(h["beta"])),
                              {**LR, "beta": (0.0, 0.5)}),
    "scale_by_nesterov": Case(sgd_with(lambda h: jl.scale_by_nesterov(h["beta"])),
                              {**LR, "beta": (0.0, 0.5)}),
    "scale_by_adagrad": Case(sgd_with(lambda h: jl.scale_by_adagrad(h["eps"])),
                             {**LR, "eps": (0.0, 1e-7)}),
    "scale_by_rmsprop[centered]": Case(
        sgd_with(lambda h: jl.scale_by_rmsprop(h["decay"], h["eps"], centered=True)),
        {**LR, "decay": (0.0, 0.9), "eps": (0.0, 1e-8)}),
    "scale_by_adam[amsgrad, no bias correction]": Case(
        sgd_with(lambda h: jl.scale_by_adam(h["b1"], h["b2"], h["eps"], False, True,
                                            h["eps_root"])), {**LR, **ADAM}),
    "add_decayed_weights": Case(sgd_with(lambda h: jl.add_decayed_weights(h["weight_decay"])),
                                {**LR, "weight_decay": (0.0, 0.1)}),
    "clip_by_global_norm": Case(sgd_with(lambda h: jl.clip_by_global_norm(h["max_norm"])),
                                {**LR, "max_norm": (1e-3, 1.0)}),
    "one_of": Case(lambda h: jl.one_of([jl.momentum(h["learning_rate"]),
                                        jl.sgd(h["learning_rate"])], 0), LR),
    "momentum_velocity_form": Case(
        lambda h: jl.momentum_velocity_form(h["learning_rate"], h["beta"]),
        {**LR, "beta": (0.0, 0.9)}),
    "nesterov_lookahead_form": Case(
        lambda h: jl.nesterov_lookahead_form(h["learning_rate"], h["beta"]),
        {**LR, "beta": (0.0, 0.9)}),
    "nesterov_change_of_variables": Case(
        lambda h: jl.nesterov_change_of_variables(h["learning_rate"], h["beta"]),
        {**LR, "beta": (0.0, 0.9)}),
    "reduce_on_plateau": Case(
        lambda h: optax.chain(jl.sgd(h["learning_rate"]),
                              jl.reduce_on_plateau(h["factor"], 0, h["rtol"])),
        {**LR, "factor": (0.0, 0.5), "rtol": (0.0, 1e-4)}),
    "skip_nonfinite": Case(lambda h: skip_nonfinite(jl.momentum(h["learning_rate"])), LR),
    "scale_by_backtracking_linesearch": Case(
        lambda h: optax.chain(jl.sgd(1.0), jl.scale_by_backtracking_linesearch(
            increase_factor=h["increase"], max_learning_rate=h["max"])),
        {"increase": (1.0, 2.0), "max": (1e-3, 1.0)}, reverse=False),
    "scale_by_zoom_linesearch": Case(
        lambda h: optax.chain(jl.sgd(1.0), jl.scale_by_zoom_linesearch(
            max_learning_rate=h["max"])), {"max": (1e-3, 10.0)}, reverse=False),
    "newton[cg]": Case(lambda h: jl.newton(h["learning_rate"], h["damping"], "cg"),
                       {**LR, "damping": (0.0, 0.1)}),
    "scale_by_newton": Case(sgd_with(lambda h: jl.scale_by_newton(h["damping"])),
                            {**LR, "damping": (0.0, 0.1)}),
    "scale_by_lbfgs": Case(sgd_with(lambda h: jl.scale_by_lbfgs(3)), LR),
    "lbfgs": Case(lambda h: jl.lbfgs(h["learning_rate"], memory_size=3), LR, reverse=False),
    # -- the zoo's blocks (their optimizers are chains of them: COVERED_BY) --------------------
    "scale_by_nadam": Case(sgd_with(lambda h: jl.scale_by_nadam(h["b1"], h["b2"], h["eps"],
                                                                h["momentum_decay"])),
                           {**LR, "b1": (0.0, 0.9), "b2": (0.0, 0.99), "eps": (0.0, 1e-8),
                            "momentum_decay": (0.0, 4e-3)}),
    "scale_by_radam": Case(sgd_with(lambda h: jl.scale_by_radam(h["b1"], h["b2"], h["eps"])),
                           {**LR, "b1": (0.0, 0.9), "b2": (0.0, 0.6), "eps": (0.0, 1e-8)}),
    "scale_by_adamax": Case(sgd_with(lambda h: jl.scale_by_adamax(h["b1"], h["b2"], h["eps"])),
                            {**LR, "b1": (0.0, 0.9), "b2": (0.0, 0.99), "eps": (0.0, 1e-8)}),
    "scale_by_belief": Case(sgd_with(lambda h: jl.scale_by_belief(h["b1"], h["b2"], h["eps"],
                                                                  h["eps_root"])),
                            {**LR, **ADAM}),
    "scale_by_debiased_rms": Case(sgd_with(lambda h: jl.scale_by_debiased_rms(h["b2"], h["eps"])),
                                  {**LR, "b2": (0.0, 0.99), "eps": (0.0, 1e-8)}),
    "scale_by_sign": Case(sgd_with(lambda h: jl.scale_by_sign()), LR),
    "scale_by_lion": Case(sgd_with(lambda h: jl.scale_by_lion(h["b1"], h["b2"])),
                          {**LR, "b1": (0.0, 0.9), "b2": (0.0, 0.99)}),
    "scale_by_trust_ratio": Case(
        sgd_with(lambda h: jl.scale_by_trust_ratio(h["coefficient"], h["eps"])),
        {**LR, "coefficient": (1e-3, 1.0), "eps": (0.0, 1e-8)}),
    "scale_by_adadelta": Case(sgd_with(lambda h: jl.scale_by_adadelta(h["rho"], h["eps"])),
                              {**LR, "rho": (0.0, 0.9), "eps": (0.0, 1e-6)}),
    "scale_by_rprop": Case(
        sgd_with(lambda h: jl.scale_by_rprop(h["step"], h["minus"], h["plus"], h["low"],
                                             h["high"])),
        {**LR, "step": (0.0, 0.01), "minus": (0.0, 0.5), "plus": (1.0, 1.2), "low": (0.0, 1e-6),
         "high": (0.0, 50.0)}),
    "scale_by_factored_rms[factored, clip_by_block_rms, scale_by_param_block_rms]": Case(
        sgd_with(lambda h: on_matrices(optax.chain(
            jl.scale_by_factored_rms(h["decay_rate"], h["eps"], min_dim_size_to_factor=1),
            jl.clip_by_block_rms(h["threshold"]), jl.scale_by_param_block_rms(h["min_scale"])))),
        {**LR, "decay_rate": (0.0, 0.8), "eps": (0.0, 1e-30), "threshold": (1e-3, 1.0),
         "min_scale": (0.0, 1e-3)}),
    "clip_by_block_rms": Case(sgd_with(lambda h: jl.clip_by_block_rms(h["threshold"])),
                              {**LR, "threshold": (1e-3, 1.0)}),
    "scale_by_param_block_rms": Case(
        sgd_with(lambda h: jl.scale_by_param_block_rms(h["min_scale"])),
        {**LR, "min_scale": (0.0, 1e-3)}),
    "scale_by_muon[orthogonalize_via_newton_schulz]": Case(
        sgd_with(lambda h: on_matrices(jl.scale_by_muon(h["beta"], 2, h["eps"]))),
        {**LR, "beta": (0.0, 0.95), "eps": (0.0, 1e-8)}),
    "masked": Case(sgd_with(lambda h: jl.masked(jl.add_decayed_weights(h["weight_decay"]),
                                                {"w": True, "e": False})),
                   {**LR, "weight_decay": (0.0, 0.1)}),
    "schedule_free_adamw": Case(
        lambda h: jl.schedule_free_adamw(h["learning_rate"], 0.9, h["b2"], h["eps"],
                                         weight_lr_power=h["power"], warmup_steps=h["warmup"]),
        {**LR, "b2": (0.0, 0.99), "eps": (0.0, 1e-8), "power": (0.0, 2.0),
         "warmup": (0.0, 3.0)}),
    "polyak_averaging": Case(lambda h: jl.polyak_averaging(jl.sgd(h["learning_rate"]), 1), LR),
    "ema_averaging": Case(lambda h: jl.ema_averaging(jl.sgd(h["learning_rate"]), h["decay"]),
                          {**LR, "decay": (0.0, 0.9)}),
}
COVERED_BY = {  # optimizers that are exactly a chain of cases above (their code adds no step)
    "momentum": "with_learning_rate(scale_by_momentum)",
    "nesterov": "with_learning_rate(scale_by_nesterov)",
    "adagrad": "with_learning_rate(scale_by_adagrad)",
    "adamw": "with_learning_rate(scale_by_adam, add_decayed_weights): adam's blocks",
    "amsgrad": "with_learning_rate(scale_by_adam(amsgrad=True))",
    "newton": "with_learning_rate(scale_by_newton)",
    "nadam": "with_learning_rate(scale_by_nadam)",
    "radam": "with_learning_rate(scale_by_radam)",
    "adamax": "with_learning_rate(scale_by_adamax)",
    "adabelief": "with_learning_rate(scale_by_belief)",
    "sign_sgd": "with_learning_rate(scale_by_sign)",
    "lion": "with_learning_rate(scale_by_lion, masked(add_decayed_weights))",
    "lamb": "with_learning_rate(scale_by_adam, masked(add_decayed_weights), scale_by_trust_ratio)",
    "lars": "masked(add_decayed_weights, scale_by_trust_ratio), the rate, scale_by_momentum",
    "adafactor": "with_learning_rate(scale_by_factored_rms, clip_by_block_rms, "
                 "scale_by_param_block_rms, masked(add_decayed_weights))",
    "adadelta": "with_learning_rate(scale_by_adadelta)",
    "rprop": "optax.chain(scale_by_rprop, optax.scale(-1)): the count is scale_by_rprop's",
    "muon": "with_learning_rate(partition(scale_by_muon, scale_by_nadam), masked decay)",
    "schedule_free": "schedule_free_adamw's case: schedule_free around with_learning_rate",
}

# name -> (parameters -> schedule, name -> (degenerate value, regular value))
SCHEDULES = {
    "constant": (lambda h: jl.constant(h["value"]), {"value": (0.0, 0.1)}),
    "multistep_decay": (lambda h: jl.multistep_decay(h["init"], [h["boundary"], 3.0], h["gamma"]),
                        {"init": (0.0, 0.1), "boundary": (0.0, 5.0), "gamma": (0.0, 0.5)}),
    "step_decay": (lambda h: jl.step_decay(h["init"], h["total"], (h["fraction"], 0.5),
                                           h["gamma"]),
                   {"init": (0.0, 0.1), "total": (0.0, 20.0), "fraction": (0.0, 0.3),
                    "gamma": (0.0, 0.5)}),
    "exponential_decay": (
        lambda h: jl.exponential_decay(h["init"], h["transition"], h["rate"],
                                       transition_begin=h["begin"], end_value=h["end"]),
        {"init": (0.0, 0.1), "transition": (0.0, 5.0), "rate": (0.0, 0.5), "begin": (0.0, 3.0),
         "end": (0.0, 0.01)}),
    "cosine_decay": (lambda h: jl.cosine_decay(h["init"], h["length"], h["eta_min"],
                                               h["exponent"]),
                     {"init": (0.0, 0.1), "length": (0.0, 5.0), "eta_min": (0.0, 0.01),
                      "exponent": (0.5, 2.0)}),
    "linear_decay": (lambda h: jl.linear_decay(h["init"], h["length"], h["end"]),
                     {"init": (0.0, 0.1), "length": (0.0, 5.0), "end": (0.0, 0.01)}),
    "inverse_sqrt": (lambda h: jl.inverse_sqrt(h["init"], h["timescale"]),
                     {"init": (0.0, 0.1), "timescale": (0.0, 5.0)}),
    "warmup": (lambda h: jl.warmup(jl.cosine_decay(h["peak"], h["length"]), h["warmup"],
                                   h["init"]),
               {"peak": (0.0, 0.1), "length": (0.0, 5.0), "warmup": (0.0, 3.0),
                "init": (0.0, 0.01)}),
    "sgdr": (lambda h: jl.sgdr(h["init"], h["period"], h["multiplier"], h["eta_min"]),
             {"init": (0.0, 0.1), "period": (0.0, 4.0), "multiplier": (1.0, 2.0),
              "eta_min": (0.0, 0.01)}),
}
STEPS = jnp.array([0, 1, 2, 3, 4, 5, 7, 30, 10 ** 6], jnp.int32)

NOT_A_STEP = {  # public functions that are neither a transformation nor a schedule
    "global_norm": "test_global_norm_is_finite_with_zero_gradient_at_zero_and_empty_trees",
    "minimize": "a while loop of the transformations above; tests/optim/test_minimize_status.py",
    "all_finite": "a predicate: no arithmetic",
    "nesterov_lookahead_point": "w + beta v: no division, square root or norm",
    "random_search": "gradient-free sampling: no division, square root or norm",
    "random_local_search": "gradient-free sampling: no division, square root or norm",
    "averaged_params": "reads the average a polyak_averaging/ema_averaging state holds",
    "evaluation_params": "averaged_params, or schedule_free_eval_params, or the parameters",
    "schedule_free_eval_params": "(y - (1 - b1) z) / b1 with b1 in (0, 1): no degenerate point",
    "orthogonalize_via_newton_schulz": "a function of a matrix: scale_by_muon's case runs it",
}


def on_matrices(block):
  """`block` on the parameters reshaped to matrices [2, n / 2] (Muon and the factored second
  moment see 2-D leaves; the vector [4] becomes [2, 2], the empty leaf [2, 0])."""
  shaped = lambda tree: jax.tree.map(lambda x: x.reshape(2, -1), tree)

  def init(params):
    return block.init(shaped(params))

  def update(updates, state, params=None):
    new, state = block.update(shaped(updates), state, None if params is None else shaped(params))
    return jax.tree.map(lambda u, old: u.reshape(old.shape), new, updates), state

  return optax.GradientTransformation(init, update)


def public_functions() -> set:
  return {name for name in optim.__all__
          if callable(getattr(optim, name)) and not inspect.isclass(getattr(optim, name))}


def test_every_public_block_and_schedule_is_covered():
  covered = ({key.split("[")[0] for key in TRANSFORMS} | set(COVERED_BY) | set(SCHEDULES)
             | set(NOT_A_STEP))
  assert public_functions() == covered
  assert set(SCHEDULES) == set(optim.schedules.__all__)


def choose(hyper: dict, picks) -> dict:
  return {name: (low if pick else high) for (name, (low, high)), pick in zip(hyper.items(), picks)}


def finite(tree) -> bool:
  return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree))


def step_outputs(case: Case):
  """One compiled function of (hyperparameters, params, curvature, slope): two steps' updates
  folded into a scalar, its gradient (if reverse) and its derivative along a direction."""

  def total(h, flat, curvature, slope):
    transform = optax.with_extra_args_support(case.make(h))
    params = tree(flat)
    state = transform.init(params)
    out = jnp.zeros([])
    for _ in range(2):
      value, grad = loss(params, curvature, slope), gradient(params, curvature, slope)
      updates, state = transform.update(grad, state, params, value=value, grad=grad,
                                        value_fn=lambda p: loss(p, curvature, slope))
      out = out + sum(jnp.sum(u * (1 + jnp.arange(u.size).reshape(u.shape)))
                      for u in jax.tree.leaves(updates))
      params = optax.apply_updates(params, updates)
    return out

  def outputs(h, flat, curvature, slope):
    args = (h, flat, curvature, slope)
    tangents = (jax.tree.map(jnp.ones_like, h), jnp.ones_like(flat), jnp.ones_like(curvature),
                jnp.ones_like(slope))
    value, forward = jax.jvp(total, args, tangents)
    reverse = jax.grad(total, argnums=(0, 1, 2, 3))(*args) if case.reverse else ()
    return value, forward, reverse

  return jax.jit(outputs)


COMPILED = {}
VALUES = st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.0])


@pytest.mark.parametrize("name", TRANSFORMS)
@PROFILE
@given(data=st.data())
def test_finite_values_and_derivatives_at_degenerate_points(name, data):
  case = TRANSFORMS[name]
  picks = data.draw(st.lists(st.booleans(), min_size=len(case.hyper), max_size=len(case.hyper)))
  draw = lambda: jnp.asarray(data.draw(st.lists(VALUES, min_size=SIZE, max_size=SIZE)),
                             jnp.float32)
  flat, curvature, slope = draw(), jnp.abs(draw()), draw()
  h = {k: jnp.float32(v) for k, v in choose(case.hyper, picks).items()}
  if name not in COMPILED:
    COMPILED[name] = step_outputs(case)
  value, forward, reverse = COMPILED[name](h, flat, curvature, slope)
  assert finite(value) and finite(forward) and finite(reverse), (h, flat, curvature, slope)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_hyperparameter_at_its_degenerate_value_at_zero_gradient(name):
  """The corner hypothesis may not draw: every hyperparameter degenerate at once, with zero
  gradients (zero parameters, no linear term) and zero curvature."""
  case = TRANSFORMS[name]
  if name not in COMPILED:
    COMPILED[name] = step_outputs(case)
  h = {k: jnp.float32(low) for k, (low, _) in case.hyper.items()}
  zeros = jnp.zeros(SIZE, jnp.float32)
  for curvature in (zeros, jnp.ones(SIZE)):
    value, forward, reverse = COMPILED[name](h, zeros, curvature, zeros)
    assert finite(value) and finite(forward) and finite(reverse)


def schedule_outputs(make):
  def total(h):
    return jnp.sum(make(h)(STEPS) * (1 + jnp.arange(STEPS.size)))

  def outputs(h):
    _, forward = jax.jvp(total, (h,), (jax.tree.map(jnp.ones_like, h),))
    return make(h)(STEPS), forward, jax.grad(total)(h)

  return jax.jit(outputs)


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_are_finite_with_finite_derivatives_at_every_degenerate_corner(name):
  """Every subset of the parameters at its degenerate value (phases of length 0, gamma or
  decay rate 0, zero rates): 2^k corners, one compilation, values in [0, max rate]."""
  make, hyper = SCHEDULES[name]
  outputs = schedule_outputs(make)
  for corner in range(2 ** len(hyper)):
    picks = [bool(corner >> i & 1) for i in range(len(hyper))]
    h = {k: jnp.float32(v) for k, v in choose(hyper, picks).items()}
    rates, forward, reverse = outputs(h)
    assert finite(rates) and finite(forward) and finite(reverse), h
    assert bool(jnp.all(rates >= 0)) and bool(jnp.all(rates <= 0.1 + 1e-7)), (h, rates)


def test_zero_length_cosine_phase_is_over_from_its_start_optax_1403():
  """The issue's reproduction: a vmapped zero-length cosine phase was NaN at step 0."""
  curves = jax.vmap(lambda T: jl.cosine_decay(1.0, T, 0.1)(jnp.arange(4)))(jnp.array([0.0, 4.0]))
  np.testing.assert_allclose(curves[0], 0.1)
  np.testing.assert_allclose(curves[1], [1.0, 0.8682, 0.55, 0.2318], rtol=1e-4)


def test_clip_by_global_norm_has_the_identity_as_its_gradient_at_zero_tensorflow_22048():
  clip = jl.clip_by_global_norm(1.0)
  clipped = lambda g: clip.update({"w": g}, optax.EmptyState())[0]["w"]
  reverse, forward = jax.jit(lambda g: (jax.grad(lambda g: jnp.sum(clipped(g)))(g),
                                        jax.jacfwd(clipped)(g)))(jnp.zeros(3))
  np.testing.assert_array_equal(reverse, np.ones(3))
  np.testing.assert_array_equal(forward, np.eye(3))


def test_global_norm_is_finite_with_zero_gradient_at_zero_and_empty_trees():
  for tree_ in ({"w": jnp.zeros(3), "e": jnp.zeros((0, 2))}, {"e": jnp.zeros(0)}, {}):
    assert float(jl.global_norm(tree_)) == 0.0
  derivatives = jax.jit(lambda t: (jax.grad(jl.global_norm)(t), jax.jvp(
      jl.global_norm, (t,), (jax.tree.map(jnp.ones_like, t),))[1]))
  reverse, forward = derivatives({"w": jnp.zeros(3), "e": jnp.zeros((0, 2))})
  np.testing.assert_array_equal(reverse["w"], 0.0)
  assert float(forward) == 0.0
  reverse, forward = derivatives({"w": jnp.array([3.0, 4.0, 0.0]), "e": jnp.zeros((0, 2))})
  np.testing.assert_allclose(reverse["w"], [0.6, 0.8, 0.0], rtol=1e-6)


def test_adam_with_eps_root_is_smooth_at_zero_gradient_and_equals_the_analytic_derivative():
  """d(first update)/dg at g = 0: m_hat = g, v_hat = g^2, so the update is
  -lr g / (sqrt(g^2 + eps_root) + eps) and its derivative -lr / (sqrt(eps_root) + eps)."""
  lr, eps, eps_root = 0.1, 1e-8, 1e-6
  def first_step_jacobians(eps_root, eps):
    adam = jl.adam(lr, eps=eps, eps_root=eps_root)
    first = lambda g: adam.update(g, adam.init(g))[0]
    return jax.jacfwd(first)(jnp.zeros(2)), jax.jacrev(first)(jnp.zeros(2))

  jacobians = jax.jit(first_step_jacobians)
  for jacobian in jacobians(eps_root, eps):
    np.testing.assert_allclose(jacobian, -lr / (np.sqrt(eps_root) + eps) * np.eye(2), rtol=1e-5)
  # without eps_root the derivative of |g| at 0 has no value; ours is finite: -lr / eps
  for jacobian in jacobians(0.0, 1e-3):
    np.testing.assert_allclose(jacobian, -lr / 1e-3 * np.eye(2), rtol=1e-5)


def test_adam_with_eps_zero_gives_a_zero_step_for_a_zero_gradient():
  adam = jl.adam(0.1, eps=0.0)
  updates, _ = adam.update(jnp.array([0.0, 1.0]), adam.init(jnp.zeros(2)))
  np.testing.assert_allclose(updates, [0.0, -0.1], rtol=1e-6)
