"""Vanishing/exploding gradients and clipping: `python experiments/gradient_flow.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["gradient-flow", *sys.argv[1:]]))
