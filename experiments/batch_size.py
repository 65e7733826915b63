"""The linear scaling rule on digits: `python experiments/batch_size.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["batch-size", *sys.argv[1:]]))
