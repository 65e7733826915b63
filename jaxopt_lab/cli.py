"""The `jaxopt-lab` command: one subcommand per study, each writing figures and tables.

  jaxopt-lab --help                          lists every study
  jaxopt-lab trajectories --out results/t    runs one; `--quick` makes a small, fast version

A study is a module of `jaxopt_lab.studies` with a one-line `DESCRIPTION`, an
`add_arguments(parser)` for its own options and a `main(args)` that writes under `args.out`
and returns the paths it wrote. Bad arguments end in one clear line, not a traceback.
"""
import argparse
import importlib
import sys
from pathlib import Path

STUDIES = {
    "flagship": "jaxopt_lab.studies.flagship",
    "trajectories": "jaxopt_lab.studies.trajectories",
}


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
    print(f"jaxopt-lab {args.study}: error: {error}", file=sys.stderr)
    return 2
  for path in written:
    print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
