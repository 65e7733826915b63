"""Every convergence-theory figure: the six theory studies, each into --out/<study>/.

  jaxopt-lab theory --out results/theory                      all six
  jaxopt-lab theory --studies momentum-map,sgd-noise --quick  a selection, small
"""
import argparse
from pathlib import Path

from jaxopt_lab.studies import names_in, run_study

DESCRIPTION = "All six convergence-theory studies (rates, momentum map, noise...) into subfolders."
STUDIES = ("rate-vs-step-size", "momentum-map", "eigencomponents", "rates-vs-condition",
           "sgd-noise", "lecture-exercise")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--studies", default=",".join(STUDIES),
                      help="comma-separated theory studies (default: all)")


def main(args: argparse.Namespace) -> list[Path]:
  names = names_in("--studies", args.studies, STUDIES)
  written = []
  for name in names:
    print(f"== {name}")
    written += run_study(name, Path(args.out) / name, args.quick)
  return written
