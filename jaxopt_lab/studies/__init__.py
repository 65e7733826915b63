"""Studies: the experiments `jaxopt-lab <study>` runs, each writing figures and tables.

A study is a module here with a one-line `DESCRIPTION`, an `add_arguments(parser)` for its own
options and a `main(args)` that writes under `args.out` and returns the paths it wrote. It is
registered by one line in `REGISTRY` (name -> module); the CLI only dispatches to it, and a
study that runs others (flagship, theory) calls `run_study`, never the CLI.
"""
import argparse
import importlib
from pathlib import Path
from types import ModuleType

import numpy as np

from jaxopt_lab._validation import did_you_mean
from jaxopt_lab.files import output_folder

REGISTRY = {
    "flagship": "flagship",
    # hyperparameter sweeps: vmapped, sharded, resumable
    "sweep": "sweep",
    "momentum-sweep-vs-theory": "momentum_sweep_vs_theory",
    # optimizers on test surfaces and full-batch problems
    "trajectories": "trajectories",
    "full-batch": "full_batch",
    # convergence theory: the six classic figures, and `theory` running all six
    "rate-vs-step-size": "rate_vs_step_size",
    "momentum-map": "momentum_map",
    "eigencomponents": "eigencomponents",
    "rates-vs-condition": "rates_vs_condition",
    "sgd-noise": "sgd_noise",
    "lecture-exercise": "lecture_exercise",
    "theory": "theory",
    # training on real digits
    "digits-optimizers": "digits_optimizers",
    "l2-vs-adamw": "l2_vs_adamw",
    "schedules": "schedules",
    "schedules-on-digits": "schedules_on_digits",
    "random-search": "random_search",
    "regularization": "regularization",
    "batch-size": "batch_size",
    # gradient checks, gradient flow and training diagnosis
    "gradient-flow": "gradient_flow",
    "diagnose": "diagnose",
}
"""Every study by its command name -> its module in this package."""


def load(name: str) -> ModuleType:
  """The module of study `name` (imported on first use: studies import what they draw with)."""
  return importlib.import_module(f"{__name__}.{REGISTRY[name]}")


def names_in(flag: str, text: str, choices) -> list[str]:
  """The comma-separated names an option such as --optimizer lists, each one of `choices`;
  a mistyped name gets the closest choice suggested:
    names_in("--optimizer", "sgd,adma", BY_NAME)
    ->  ValueError("--optimizer 'sgd,adma': unknown adma (did you mean 'adam'?); choose ...")"""
  names = [name.strip() for name in text.split(",") if name.strip()]
  unknown = [name for name in names if name not in choices]
  if unknown or not names or len(set(names)) != len(names):
    problem = (f"unknown {', '.join(name + did_you_mean(name, choices) for name in unknown)}"
               if unknown else "a name given twice" if names else "no name given")
    raise ValueError(f"{flag} {text!r}: {problem}; choose from {', '.join(choices)}")
  return names


SEED_MAX = 2 ** 32 - 1         # seeds of NumPy, sklearn and jax.random.key
FLOAT32_MAX = float(np.finfo(np.float32).max)
KAPPA_MAX = float(1 / np.finfo(np.float32).tiny)  # condition numbers: 1 / kappa stays normal


def check_option(flag: str, value, low, high, why: str = "") -> None:
  """Raises a one-line ValueError unless `value` (an int or float option) is in [low, high]:
    check_option("--chains", 1, 2, 65536)
    ->  ValueError("--chains must be an integer in [2, 65536], got 1")"""
  if not low <= value <= high:  # NaN fails too
    kind = "an integer" if isinstance(value, int) else "a number"
    raise ValueError(f"{flag} must be {kind} in [{_shown(low)}, {_shown(high)}]{why}, got "
                     f"{_shown(value)}")


def _shown(x) -> str:
  return str(x) if isinstance(x, int) else f"{x:g}"


def run_study(name: str, out: Path, quick: bool = False, **options) -> list[Path]:
  """Runs a study as `jaxopt-lab <name> --out <out> [--quick]` would, `options` (its argument
  names, e.g. steps=100) replacing its defaults; returns the paths it wrote."""
  module = load(name)
  parser = argparse.ArgumentParser(prog=f"jaxopt-lab {name}")
  module.add_arguments(parser)
  defaults = vars(parser.parse_args([]))
  unknown = sorted(set(options) - set(defaults))
  if unknown:
    raise ValueError(f"run_study({name!r}): no option {', '.join(unknown)}; it takes "
                     f"{', '.join(sorted(defaults)) or 'none'}")
  out = output_folder(f"run_study({name!r}, out=...)", out)
  return module.main(argparse.Namespace(out=out, quick=quick, **{**defaults, **options}))
