"""Grid, random, quasi-random, halving and TPE search on digits:
`python experiments/search_comparison.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["search-comparison", *sys.argv[1:]]))
