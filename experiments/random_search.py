"""Random search vs gradient descent on digits: `python experiments/random_search.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["random-search", *sys.argv[1:]]))
