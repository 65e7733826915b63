"""GD's V and heavy-ball curves of rate vs learning rate, with measured runs: `python experiments/rate_vs_step_size.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["rate-vs-step-size", *sys.argv[1:]]))
