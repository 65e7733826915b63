"""Learning-rate schedules on the digits MLP: `python experiments/schedules_on_digits.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["schedules-on-digits", *sys.argv[1:]]))
