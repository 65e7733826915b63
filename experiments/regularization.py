"""Every regularizer swept on 150 digits: `python experiments/regularization.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["regularization", *sys.argv[1:]]))
