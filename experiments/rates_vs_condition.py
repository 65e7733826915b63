"""Optimal rates vs condition number, theory and measured runs: `python experiments/rates_vs_condition.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["rates-vs-condition", *sys.argv[1:]]))
