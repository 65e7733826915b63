"""The `jaxopt-lab` command: one subcommand per study, each writing figures and tables.

  jaxopt-lab --help                          lists every study
  jaxopt-lab trajectories --out results/t    runs one; `--quick` makes a small, fast version

A study is a module of `jaxopt_lab.studies` with a one-line `DESCRIPTION`, an
`add_arguments(parser)` for its own options and a `main(args)` that writes under `args.out`
and returns the paths it wrote. Bad arguments end in one clear line, not a traceback
(set JAXOPT_LAB_TRACEBACK=1 to see the traceback behind such a line).
"""
import argparse
import importlib
import os
import sys
from pathlib import Path

STUDIES = {
    "flagship": "jaxopt_lab.studies.flagship",
    # hyperparameter sweeps: vmapped, sharded, resumable
    "sweep": "jaxopt_lab.studies.sweep",
    "momentum-sweep-vs-theory": "jaxopt_lab.studies.momentum_sweep_vs_theory",
    # optimizers on test surfaces and full-batch problems
    "trajectories": "jaxopt_lab.studies.trajectories",
    "full-batch": "jaxopt_lab.studies.full_batch",
    # convergence theory: the six classic figures, and `theory` running all six
    "rate-vs-step-size": "jaxopt_lab.studies.rate_vs_step_size",
    "momentum-map": "jaxopt_lab.studies.momentum_map",
    "eigencomponents": "jaxopt_lab.studies.eigencomponents",
    "rates-vs-condition": "jaxopt_lab.studies.rates_vs_condition",
    "sgd-noise": "jaxopt_lab.studies.sgd_noise",
    "lecture-exercise": "jaxopt_lab.studies.lecture_exercise",
    "theory": "jaxopt_lab.studies.theory",
    # training on real digits
    "digits-optimizers": "jaxopt_lab.studies.digits_optimizers",
    "l2-vs-adamw": "jaxopt_lab.studies.l2_vs_adamw",
    "schedules": "jaxopt_lab.studies.schedules",
    "schedules-on-digits": "jaxopt_lab.studies.schedules_on_digits",
    "random-search": "jaxopt_lab.studies.random_search",
    # gradient checks and gradient flow
    "gradient-flow": "jaxopt_lab.studies.gradient_flow",
}


def names_in(flag: str, text: str, choices) -> list[str]:
  """The comma-separated names an option such as --optimizers lists, each one of `choices`."""
  names = [name.strip() for name in text.split(",") if name.strip()]
  unknown = [name for name in names if name not in choices]
  if unknown or not names or len(set(names)) != len(names):
    problem = (f"unknown {', '.join(unknown)}" if unknown else
               "a name given twice" if names else "no name given")
    raise ValueError(f"{flag} {text!r}: {problem}; choose from {', '.join(choices)}")
  return names


def run_study(name: str, out: Path, quick: bool = False, **options) -> list[Path]:
  """Runs a study as `jaxopt-lab <name> --out <out> [--quick]` would, `options` (its argument
  names, e.g. steps=100) replacing its defaults; returns the paths it wrote."""
  module = importlib.import_module(STUDIES[name])
  parser = argparse.ArgumentParser(prog=f"jaxopt-lab {name}")
  module.add_arguments(parser)
  defaults = vars(parser.parse_args([]))
  unknown = sorted(set(options) - set(defaults))
  if unknown:
    raise ValueError(f"run_study({name!r}): no option {', '.join(unknown)}; it takes "
                     f"{', '.join(sorted(defaults)) or 'none'}")
  return module.main(argparse.Namespace(out=Path(out), quick=quick, **{**defaults, **options}))


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="jaxopt-lab",
      description="Optimizer studies: sweeps, convergence theory, gradient checks.")
  studies = parser.add_subparsers(dest="study", required=True, metavar="STUDY")
  for name, module_name in STUDIES.items():
    module = importlib.import_module(module_name)
    study = studies.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION)
    study.add_argument("--out", type=Path, default=Path("results") / name,
                       help="folder for figures and tables (default: %(default)s)")
    study.add_argument("--quick", action="store_true",
                       help="a small, fast version (for smoke tests)")
    module.add_arguments(study)
    study.set_defaults(main=module.main)
  return parser


def main(argv=None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  try:
    written = args.main(args)
  except ValueError as error:
    if os.environ.get("JAXOPT_LAB_TRACEBACK"):
      raise
    print(f"jaxopt-lab {args.study}: error: {error}", file=sys.stderr)
    return 2
  for path in written:
    print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
