"""Full-batch GD, momentum, Adam, L-BFGS and Newton on digits: `python experiments/full_batch.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["full-batch", *sys.argv[1:]]))
