"""The `jaxopt-lab` command: one subcommand per study of `jaxopt_lab.studies.REGISTRY`.

  jaxopt-lab --help                          lists every study
  jaxopt-lab trajectories --out results/t    runs one; `--quick` makes a small, fast version

Bad arguments end in one clear line, not a traceback (set JAXOPT_LAB_TRACEBACK=1 to see the
traceback behind such a line).
"""
import argparse
import os
import sys
from pathlib import Path

from jaxopt_lab import studies


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="jaxopt-lab",
      description="Optimizer studies: sweeps, convergence theory, gradient checks.")
  commands = parser.add_subparsers(dest="study", required=True, metavar="STUDY")
  for name in studies.REGISTRY:
    module = studies.load(name)
    study = commands.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION)
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
