"""Adam + L2 vs AdamW; SGD + L2 equals SGD + decay: `python experiments/l2_vs_adamw.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["l2-vs-adamw", *sys.argv[1:]]))
