"""The main job, `make run`: the studies a newcomer should see first, into one folder each."""
import argparse
from pathlib import Path

from jaxopt_lab.optimizers import BY_NAME
from jaxopt_lab.studies import trajectories

DESCRIPTION = "The flagship run of `make run`: every headline study into --out/<study>/."


def add_arguments(parser: argparse.ArgumentParser) -> None:
  del parser


def main(args: argparse.Namespace) -> list[Path]:
  out = Path(args.out)
  written = []
  for name, study, options in [
      ("trajectories", trajectories, {"optimizers": ",".join(BY_NAME)})]:
    print(f"== {name}")
    written += study.main(argparse.Namespace(out=out / name, quick=args.quick, **options))
  return written
