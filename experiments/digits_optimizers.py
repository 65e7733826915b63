"""Every optimizer on one digits MLP at its tuned rate: `python experiments/digits_optimizers.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["digits-optimizers", *sys.argv[1:]]))
