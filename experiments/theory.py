"""All six convergence-theory studies into subfolders: `python experiments/theory.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["theory", *sys.argv[1:]]))
