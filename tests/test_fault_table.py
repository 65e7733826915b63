"""The fault table of optim/ and theory/ (issue 17): bad library inputs beyond the rows of
test_bad_inputs.py, each of which must end in ONE line, `call(param=value): param must be
<valid>, got value`, raised as a ValueError before any compute: no traceback from deep inside
NumPy, JAX or optax, nothing accepted silently. `outcome` classifies a row the way the issue
counts them (handled / traceback / silent); run this file as a script to print the counts:

  PYTHONPATH=. python tests/test_fault_table.py
"""
import math
import re
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # as a script, too

import jaxopt_lab as jl  # noqa: E402
from jaxopt_lab import theory  # noqa: E402
from jaxopt_lab.optim.nonfinite import skip_nonfinite  # noqa: E402
from jaxopt_lab.theory.problems import quadratic  # noqa: E402

STANDARD = re.compile(r"^(?P<call>[\w.]+)\((?P<args>.*?)\): (?P<param>[\w\[\]]+) must be "
                      r"(?P<range>.+?), got (?P<got>.+)$", re.S)
NAN, INF = math.nan, math.inf
W = jnp.ones(2)
SQUARE = lambda w: jnp.sum(w ** 2)


class Fault(NamedTuple):
  call: str          # the call the message must name
  param: str         # the parameter it must name
  run: Callable      # () -> anything; must raise


def use(transform):
  """Builds and runs one step: a fault found only at update time still counts as a fault."""
  transform = optax.with_extra_args_support(transform)
  return transform.update(W, transform.init(W), W, value=SQUARE(W), grad=W, value_fn=SQUARE)


def at_step(schedule):
  return schedule(jnp.arange(3))


FAULTS = [
    # issue 18's options
    Fault("adam", "mu_dtype", lambda: use(jl.adam(mu_dtype="int8"))),
    Fault("adam", "mu_dtype", lambda: use(jl.adam(mu_dtype=jnp.int32))),
    Fault("adamw", "mu_dtype", lambda: use(jl.adamw(mu_dtype="float99"))),
    Fault("momentum", "accumulator_dtype", lambda: use(jl.momentum(0.1, accumulator_dtype=bool))),
    Fault("rmsprop", "momentum", lambda: use(jl.rmsprop(0.1, momentum=1.0))),
    Fault("rmsprop", "momentum", lambda: use(jl.rmsprop(0.1, momentum=-0.5))),
    Fault("rmsprop", "momentum", lambda: use(jl.rmsprop(0.1, momentum=NAN))),
    Fault("rmsprop", "centered", lambda: use(jl.rmsprop(0.1, centered="yes"))),
    Fault("adam", "eps_root", lambda: use(jl.adam(eps_root=-1.0))),
    Fault("adamw", "eps_root", lambda: use(jl.adamw(eps_root=INF))),
    Fault("adam", "bias_correction", lambda: use(jl.adam(bias_correction="no"))),
    Fault("scale_by_adam", "amsgrad", lambda: use(jl.scale_by_adam(amsgrad=1))),
    Fault("cosine_decay", "exponent", lambda: at_step(jl.cosine_decay(1.0, 10, exponent=0.0))),
    Fault("cosine_decay", "exponent", lambda: at_step(jl.cosine_decay(1.0, 10, exponent=NAN))),
    Fault("exponential_decay", "transition_begin",
          lambda: at_step(jl.exponential_decay(1.0, 10, 0.5, transition_begin=-3))),
    Fault("exponential_decay", "end_value",
          lambda: at_step(jl.exponential_decay(1.0, 10, 0.5, end_value=-1.0))),
    Fault("exponential_decay", "staircase",
          lambda: at_step(jl.exponential_decay(1.0, 10, 0.5, staircase="yes"))),
    Fault("scale_by_backtracking_linesearch", "increase_factor",
          lambda: use(jl.scale_by_backtracking_linesearch(increase_factor=0.5))),
    Fault("scale_by_backtracking_linesearch", "max_learning_rate",
          lambda: use(jl.scale_by_backtracking_linesearch(max_learning_rate=0.0))),
    Fault("scale_by_backtracking_linesearch", "initial_learning_rate",
          lambda: use(jl.scale_by_backtracking_linesearch(initial_learning_rate=0.0))),
    Fault("scale_by_zoom_linesearch", "max_learning_rate",
          lambda: use(jl.scale_by_zoom_linesearch(max_learning_rate=-1.0))),
    Fault("lbfgs", "scale_init_precond", lambda: use(jl.lbfgs(scale_init_precond="yes"))),
    # the rest of optim/
    Fault("clip_by_global_norm", "max_norm",
          lambda: use(jl.clip_by_global_norm(jnp.array([1.0, 2.0])))),
    Fault("warmup", "schedule", lambda: at_step(jl.warmup(0.1, 10))),
    Fault("multistep_decay", "boundaries", lambda: at_step(jl.multistep_decay(1.0, "abc"))),
    Fault("multistep_decay", "boundaries", lambda: at_step(jl.multistep_decay(1.0, [[1], [2, 3]]))),
    Fault("step_decay", "fractions", lambda: at_step(jl.step_decay(1.0, 100, [NAN]))),
    Fault("sgdr", "period_multiplier", lambda: at_step(jl.sgdr(1.0, 10, INF))),
    Fault("reduce_on_plateau", "cooldown", lambda: use(jl.reduce_on_plateau(cooldown=-1))),
    Fault("reduce_on_plateau", "min_scale", lambda: use(jl.reduce_on_plateau(min_scale=NAN))),
    Fault("skip_nonfinite", "inner", lambda: use(skip_nonfinite("adam"))),
    Fault("one_of", "transforms", lambda: use(jl.one_of([], 0))),
    Fault("one_of", "transforms", lambda: use(jl.one_of([jl.sgd(0.1), "adam"], 0))),
    Fault("with_learning_rate", "blocks",
          lambda: use(jl.with_learning_rate("adam", learning_rate=0.1))),
    Fault("newton", "learning_rate", lambda: use(jl.newton(jnp.array([1.0, 2.0])))),
    Fault("minimize", "fun", lambda: jl.minimize(None, W)),
    Fault("minimize", "params", lambda: jl.minimize(SQUARE, jnp.arange(3))),
    Fault("minimize", "momentum", lambda: jl.minimize(SQUARE, W, "gd", learning_rate=0.1,
                                                      momentum=0.9)),
    Fault("minimize", "tol", lambda: jl.minimize(SQUARE, W, tol=NAN)),
    Fault("random_search", "key", lambda: jl.random_search(SQUARE, W, 0, trials=4)),
    Fault("random_local_search", "key", lambda: jl.random_local_search(SQUARE, W, "k", trials=4)),
    # theory/
    Fault("momentum_rate", "learning_rate", lambda: theory.momentum_rate("fast", 0.5, [1.0])),
    Fault("momentum_rate", "beta", lambda: theory.momentum_rate(0.1, NAN, [1.0])),
    Fault("gd_rate", "learning_rate", lambda: theory.gd_rate([0.1, NAN], [1.0])),
    Fault("gd_rate", "eigenvalues", lambda: theory.gd_rate(0.1, [[1.0], [1.0, 2.0]])),
    Fault("nesterov_rate", "eigenvalues", lambda: theory.nesterov_rate(0.1, 0.5, np.ones((2, 0)))),
    Fault("newton_rate", "learning_rate", lambda: theory.newton_rate("x")),
    Fault("sgd_stationary_variance", "noise_std",
          lambda: theory.sgd_stationary_variance(0.1, [1.0], -1.0)),
    Fault("sgd_stationary_variance", "learning_rate",
          lambda: theory.sgd_stationary_variance(-0.1, [1.0], 1.0)),
    Fault("sgd_expected_loss", "steps", lambda: theory.sgd_expected_loss(0.1, [1.0], 1, 1, -1)),
    Fault("sgd_expected_loss", "steps", lambda: theory.sgd_expected_loss(0.1, [1.0], 1, 1, 2.5)),
    Fault("sgd_expected_loss", "initial_error",
          lambda: theory.sgd_expected_loss(0.1, [1.0], 1, [NAN], 3)),
    Fault("momentum_stationary_variance", "beta",
          lambda: theory.momentum_stationary_variance(0.1, "x", [1.0], 1.0)),
    Fault("momentum_band", "beta", lambda: theory.momentum_band(-1.0)),
    Fault("critical_damping_beta", "scaled_step", lambda: theory.critical_damping_beta(-1.0)),
    Fault("first_order_lower_bound", "eigenvalues",
          lambda: theory.first_order_lower_bound([-1.0, 1.0])),
    Fault("linear_rate", "optimizer", lambda: theory.linear_rate("adam", np.eye(2))),
    Fault("linear_rate", "hessian", lambda: theory.linear_rate(jl.sgd(0.1), [[NAN]])),
    Fault("linear_rate", "hessian", lambda: theory.linear_rate(jl.sgd(0.1), "x")),
    Fault("measured_rate", "errors", lambda: theory.measured_rate(["a", "b"])),
    Fault("measured_rate", "floor", lambda: theory.measured_rate(np.ones(10), floor=-1.0)),
    Fault("measured_rate", "minimizer_norm",
          lambda: theory.measured_rate(np.ones(10), minimizer_norm=NAN)),
    Fault("quadratic", "eigenvalues", lambda: quadratic([])),
    Fault("quadratic", "eigenvalues", lambda: quadratic([1.0, NAN])),
    Fault("quadratic", "start", lambda: quadratic([1.0, 2.0], start=[1.0])),
]
IDS = [f"{fault.call}-{fault.param}-{i}" for i, fault in enumerate(FAULTS)]


def outcome(fault: Fault) -> tuple[str, str]:
  """("handled", message) for one standard line naming the call and the parameter,
  ("traceback", what) for any other exception, ("silent", "") when nothing was raised."""
  try:
    fault.run()
  except ValueError as error:
    message = str(error)
    parts = STANDARD.match(message)
    if (parts and "\n" not in message and parts["call"] == fault.call
        and parts["param"] == fault.param):
      return "handled", message
    return "traceback", f"ValueError: {message}"
  except Exception as error:  # the kinds a user would see as a traceback from deep inside
    return "traceback", f"{type(error).__name__}: {error}".splitlines()[0][:200]
  return "silent", ""


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_each_fault_is_one_standard_line(fault):
  kind, message = outcome(fault)
  assert kind == "handled", message or "accepted silently"


def test_the_table_covers_optim_and_theory():
  assert len(FAULTS) >= 60
  assert {"minimize", "linear_rate", "measured_rate", "adam", "rmsprop"} <= {
      fault.call for fault in FAULTS}


if __name__ == "__main__":
  counts = {"handled": 0, "traceback": 0, "silent": 0}
  for fault, name in zip(FAULTS, IDS):
    kind, message = outcome(fault)
    counts[kind] += 1
    if kind != "handled":
      print(f"{kind:9s} {name}: {message}")
  print(f"tried {len(FAULTS)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
