"""Heavy ball's (alpha lambda, beta) rate map with the five regimes' runs: `python experiments/momentum_map.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["momentum-map", *sys.argv[1:]]))
