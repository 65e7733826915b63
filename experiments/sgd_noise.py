"""SGD's stationary and transient loss under gradient noise, theory vs Monte Carlo: `python experiments/sgd_noise.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["sgd-noise", *sys.argv[1:]]))
