"""GD on x^2 and x^2 + y^2 at lr 0.01, 0.1, 1, 100: `python experiments/lecture_exercise.py`."""
import sys

from jaxopt_lab.cli import main

sys.exit(main(["lecture-exercise", *sys.argv[1:]]))
