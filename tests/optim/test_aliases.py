"""Every optimizer against torch.optim, optax and the lectures' pseudocode, step for step, in
float64; convergence on the zoo; one trace for any hyperparameter values; vmap equal to a loop."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from jax.flatten_util import ravel_pytree

import jaxopt_lab as jl
import reference as ref
from helpers import multi_leaf_problem, run, run_torch, trajectory
from jaxopt_lab.theory.problems import quadratic, rosenbrock
from optimizer_table import TABLE

STEPS = 60


def paths(optimizers: dict, steps: int) -> dict:
  """Iterates [w0..w_steps] of each optimizer on the multi-leaf problem, in float64, all in one
  compiled program (one compilation for all: about half the compile time of one each)."""
  loss, params = multi_leaf_problem()
  with jax.enable_x64(True):
    start = jax.tree.map(jnp.asarray, params)
    run_all = jax.jit(lambda p: {name: trajectory(optimizer, loss, p, steps)
                                 for name, optimizer in optimizers.items()})
    first = ravel_pytree(start)[0][None]
    return {name: np.concatenate([first, path]) for name, path in run_all(start).items()}


@functools.cache
def our_paths() -> dict:
  """Every row of the table at its comparison hyperparameters, STEPS steps."""
  return paths({name: row.factory(**row.hyper) for name, row in TABLE.items()}, STEPS)


@pytest.mark.parametrize("name", [n for n, row in TABLE.items() if row.torch])
def test_matches_torch_float64(name, x64):
  row = TABLE[name]
  loss, params = multi_leaf_problem()
  ours = our_paths()[name]
  theirs = run_torch(lambda ps: row.torch(ps, row.hyper), loss, params, STEPS)
  assert np.abs(ours[-1] - ours[0]).max() > 1e-2  # the run went somewhere
  np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


OPTAX_STEPS = 40


@functools.cache
def optax_paths() -> dict:
  return paths({name: row.optax(row.hyper) for name, row in TABLE.items() if row.optax},
               OPTAX_STEPS)


@pytest.mark.parametrize("name", [n for n, row in TABLE.items() if row.optax])
def test_matches_optax_float64(name):
  """Same numbers as optax 0.2.8 for 40 steps (the table says where it differs and why)."""
  row = TABLE[name]
  ours = our_paths()[name][:OPTAX_STEPS + 1]
  assert np.abs(ours[-1] - ours[0]).max() > 1e-2  # the run went somewhere
  np.testing.assert_allclose(ours, optax_paths()[name], rtol=row.optax_rtol,
                             atol=1e-3 * row.optax_rtol)


def test_radam_is_compared_in_both_regimes():
  """torch.optim.RAdam steps as momentum SGD while rho_t <= 5 and rectified Adam after: the
  table's b2 puts the switch inside the steps test_matches_torch_float64 compares."""
  b2 = TABLE["radam"].hyper["b2"]
  t = np.arange(1, STEPS + 1)
  rho = 2 / (1 - b2) - 1 - 2 * t * b2 ** t / (1 - b2 ** t)
  assert (rho <= 5).sum() >= 3 and (rho > 5).sum() >= STEPS // 2


def decay(t):
  return 1.0 / (1.0 + 0.1 * t)


TORCH_COMPOSITIONS = {
    # torch's `weight_decay` in SGD and Adam is coupled L2: decay added before the optimizer
    "sgd+weight_decay": (
        jl.chain(jl.add_decayed_weights(0.1), jl.sgd(0.1)),
        lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.1), None),
    "momentum+weight_decay": (
        jl.chain(jl.add_decayed_weights(0.1), jl.momentum(0.05, 0.8)),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.1), None),
    "adam+weight_decay": (
        jl.chain(jl.add_decayed_weights(0.1), jl.adam(0.01, 0.8, 0.99)),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), None),
    # a schedule step -> rate is torch's LambdaLR (the decoupled decay follows the rate too)
    "adamw+schedule": (
        jl.adamw(lambda t: 0.01 * decay(t), 0.8, 0.99, weight_decay=0.1),
        lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), decay),
    "nesterov+schedule": (
        jl.nesterov(lambda t: 0.05 * decay(t), 0.8),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True), decay),
    "rmsprop+schedule": (
        jl.rmsprop(lambda t: 0.003 * decay(t), 0.95),
        lambda ps: torch.optim.RMSprop(ps, lr=0.003, alpha=0.95), decay),
    # RMSprop's momentum and centered options (issue 18)
    "rmsprop momentum": (
        jl.rmsprop(0.003, 0.95, momentum=0.8),
        lambda ps: torch.optim.RMSprop(ps, lr=0.003, alpha=0.95, momentum=0.8), None),
    "rmsprop centered": (
        jl.rmsprop(0.003, 0.95, eps=1e-6, centered=True),
        lambda ps: torch.optim.RMSprop(ps, lr=0.003, alpha=0.95, eps=1e-6, centered=True), None),
    "rmsprop centered+momentum+schedule": (
        jl.rmsprop(lambda t: 0.003 * decay(t), 0.9, momentum=0.5, centered=True),
        lambda ps: torch.optim.RMSprop(ps, lr=0.003, alpha=0.9, momentum=0.5, centered=True),
        decay),
    "rmsprop momentum=0": (  # torch skips the buffer; ours holds the step itself: same numbers
        jl.rmsprop(0.003, 0.95, momentum=0.0),
        lambda ps: torch.optim.RMSprop(ps, lr=0.003, alpha=0.95, momentum=0.0), None),
}


@pytest.mark.parametrize("name", TORCH_COMPOSITIONS)
def test_compositions_match_torch_float64(name, x64):
  ours_optimizer, make_torch, schedule = TORCH_COMPOSITIONS[name]
  loss, params = multi_leaf_problem(seed=1)
  ours = run(ours_optimizer, loss, params, STEPS)
  theirs = run_torch(make_torch, loss, params, STEPS, schedule)
  np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def flat_problem(seed=2):
  """The multi-leaf problem on one flat vector, for the pseudocode, which knows no pytrees."""
  loss, params = multi_leaf_problem(seed)
  flat, unravel = ravel_pytree(params)
  flat_loss = lambda x: loss(unravel(x))
  grad = jax.jit(jax.grad(flat_loss))
  return flat_loss, (lambda x: np.asarray(grad(x))), np.asarray(flat)


@pytest.mark.parametrize("name", [n for n, row in TABLE.items() if row.reference])
def test_matches_lecture_pseudocode(name, x64):
  row = TABLE[name]
  loss, grad, x0 = flat_problem()
  ours = run(row.factory(**row.hyper), loss, x0, STEPS)
  lecture = row.reference(grad, x0.copy(), STEPS, row.hyper)
  np.testing.assert_allclose(ours, np.stack(lecture), rtol=1e-9, atol=1e-12)


def test_adam_without_bias_correction_matches_lecture(x64):
  loss, grad, x0 = flat_problem()
  ours = run(jl.adam(0.01, 0.9, 0.999, bias_correction=False), loss, x0, STEPS)
  lecture = ref.run_adam(grad, x0.copy(), STEPS, 0.01, 0.9, 0.999, bias_correction=False)
  np.testing.assert_allclose(ours, np.stack(lecture), rtol=1e-9, atol=1e-12)
  # The lecture's question: the first step is lr (1 - b1) |g| / (sqrt(1 - b2) |g| + eps),
  # about (1 - b1) / sqrt(1 - b2) = 3.16 times the rate.
  g = np.abs(grad(x0))
  expected = 0.01 * 0.1 * g / (np.sqrt(0.001) * g + 1e-8)
  np.testing.assert_allclose(np.abs(ours[1] - ours[0]), expected, rtol=1e-9)
  assert np.median(expected) > 3.1 * 0.01


def test_amsgrad_without_bias_correction_is_reddi_algorithm_2(x64):
  loss, grad, x0 = flat_problem()
  ours = run(jl.amsgrad(0.01, 0.8, 0.99, eps=0.0, bias_correction=False), loss, x0, STEPS)
  paper = ref.run_amsgrad_reddi(grad, x0.copy(), STEPS, 0.01, 0.8, 0.99)
  np.testing.assert_allclose(ours, np.stack(paper), rtol=1e-9, atol=1e-12)


QUADRATIC = quadratic(np.logspace(0, 2, 10), rotation_seed=0)  # kappa = 100, rotated
ROSENBROCK = rosenbrock()


PROBLEMS = {"quadratic": (QUADRATIC, 3000), "rosenbrock": (ROSENBROCK, 20000)}


@functools.cache
def final_iterates(problem_name: str) -> dict:
  """Every row's last iterate on the problem, at its converging settings: all rows in one
  compiled program (one compilation, not one per row: about half the compile time)."""
  problem, steps = PROBLEMS[problem_name]

  def finals(start):
    return {name: trajectory(row.factory(**getattr(row, problem_name)), problem.loss, start,
                             steps)[-1] for name, row in TABLE.items()}

  return jax.jit(finals)(jnp.float32(problem.start))


@pytest.mark.parametrize("name", TABLE)
@pytest.mark.parametrize("problem_name", PROBLEMS)
def test_converges(name, problem_name):
  problem = PROBLEMS[problem_name][0]
  end = np.linalg.norm(final_iterates(problem_name)[name] - problem.minimizer)
  start = np.linalg.norm(problem.start - problem.minimizer)
  assert end < 2e-3 * start, f"{name} on {problem.name}: distance {start:.3g} -> {end:.3g}"


@pytest.mark.parametrize("name", TABLE)
def test_traces_once_for_any_hyperparameter_values(name):
  """All numeric hyperparameters are traced arguments: new values and later steps reuse the
  first compilation."""
  row = TABLE[name]
  traces = []
  params = {"w": jnp.ones(3), "b": jnp.zeros(())}
  grads = {"w": jnp.array([0.1, -0.2, 0.3]), "b": jnp.ones(())}

  @jax.jit
  def init(hyper, params):
    return row.factory(**hyper).init(params)

  @jax.jit
  def update(hyper, grads, state, params):
    traces.append(1)
    return row.factory(**hyper).update(grads, state, params)

  hyper = {k: jnp.float32(v) for k, v in row.hyper.items()}
  other = {k: jnp.float32(v * 0.5) for k, v in row.hyper.items()}
  state = init(hyper, params)
  for h in (hyper, hyper, other, other):
    _, state = update(h, grads, state, params)
  assert len(traces) == 1


RATE_FACTORS = np.array([0.25, 1.0, 2.0])


@functools.cache
def final_at_rates():
  """(vmapped, single): every row's iterate after 20 steps at learning rates
  row.hyper["learning_rate"] * factor, vmapped over RATE_FACTORS in one program, and one
  single-configuration program called once per factor (rows share each program)."""
  loss, params = multi_leaf_problem()

  def finals(factor):
    return {name: trajectory(row.factory(**{**row.hyper, "learning_rate":
                                            row.hyper["learning_rate"] * factor}),
                             loss, params, 20)[-1] for name, row in TABLE.items()}

  with jax.enable_x64(True):
    batched = jax.jit(jax.vmap(finals))(jnp.asarray(RATE_FACTORS))
    single = jax.jit(finals)
    looped = [single(factor) for factor in RATE_FACTORS]
  return batched, {name: np.stack([out[name] for out in looped]) for name in TABLE}


@pytest.mark.parametrize("name", TABLE)
def test_vmap_over_learning_rates_equals_loop(name):
  batched, looped = final_at_rates()
  np.testing.assert_allclose(batched[name], looped[name], rtol=1e-12, atol=1e-14)
  assert not np.allclose(looped[name][0], looped[name][1])  # the rates matter


def donation_check(names: tuple):
  """(expected, got): one step of each named row from the same start, by a jitted step and by
  the same step with its parameters and state donated (one program for all the names)."""
  optimizers = {name: TABLE[name].factory(**TABLE[name].hyper) for name in names}
  loss, params = multi_leaf_problem()
  params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), params)

  def step(params, states):
    out = {}
    for name, optimizer in optimizers.items():
      updates, state = optimizer.update(jax.grad(loss)(params[name]), states[name], params[name])
      out[name] = (jax.tree.map(jnp.add, params[name], updates), state)
    return out

  start = lambda: ({name: jax.tree.map(jnp.copy, params) for name in names},
                   {name: optimizer.init(params) for name, optimizer in optimizers.items()})
  expected = jax.jit(step)(*start())
  got = jax.jit(step, donate_argnums=(0, 1))(*start())
  return expected, got


@functools.cache
def all_donated():
  """Every row's donation check in one program, or the error it raised (then each row's test
  runs its own check, so the failure names its row)."""
  try:
    return donation_check(tuple(TABLE))
  except Exception as error:  # XLA reports a buffer donated twice as a runtime error
    return error


@pytest.mark.parametrize("name", TABLE)
def test_jitted_step_can_donate_params_and_state(name):
  """Every state leaf is its own buffer: donating the state does not donate one buffer twice."""
  checked = all_donated()
  expected, got = donation_check((name,)) if isinstance(checked, Exception) else checked
  jax.tree.map(np.testing.assert_array_equal, got[name], expected[name])


@pytest.mark.parametrize("name", [*TABLE, "newton", "lbfgs"])
def test_each_hyperparameter_is_validated_once_in_the_callers_name(name, monkeypatch):
  """Building an optimizer converts each concrete hyperparameter for its range check once (in
  the block that owns it), and an error there names the optimizer the user called."""
  from jaxopt_lab import _validation
  seen = []
  convert = _validation._scalar
  monkeypatch.setattr(_validation, "_scalar",
                      lambda call, param, value: seen.append((call, param)) or
                      convert(call, param, value))
  factory = TABLE[name].factory if name in TABLE else getattr(jl, name)
  factory(**(TABLE[name].hyper if name in TABLE else {"learning_rate": 0.5}))
  params = [param for _, param in seen]
  assert len(params) == len(set(params)), seen
  assert {call for call, _ in seen} == {name}
  if "learning_rate" in params:
    with pytest.raises(ValueError, match=rf"^{name}\(learning_rate=-1.0\)"):
      factory(learning_rate=-1.0)
