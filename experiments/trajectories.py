"""Every optimizer's path on a quadratic, Rosenbrock and a saddle: `python experiments/trajectories.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["trajectories", *sys.argv[1:]]))
