"""Every learning-rate schedule against the step: `python experiments/schedules.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["schedules", *sys.argv[1:]]))
