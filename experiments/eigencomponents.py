"""The error by eigencomponent for GD and heavy ball at their optima: `python experiments/eigencomponents.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["eigencomponents", *sys.argv[1:]]))
