"""Polyak and EMA averaging of SGD's iterates against the noise floor, theory vs Monte Carlo: `python experiments/iterate_averaging.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["iterate-averaging", *sys.argv[1:]]))
