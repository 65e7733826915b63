"""`jaxopt-lab sweep` with static axes and successive halving: every bad static value, eta or
first rung is one line naming the option and what it takes, before anything is computed. (The
Python side: tests/sweeps/test_static.py and test_halving.py.)"""
import pytest

from jaxopt_lab import cli
from jaxopt_lab.studies.sweep import STATIC


@pytest.mark.parametrize("arguments, message", [
    (["--param", "batch_size="], "--param batch_size=: an axis must hold at least one value; "
                                 "batch_size takes positive integers up to the training set's"),
    (["--param", "batch_size=32,0.5"], "--param batch_size=32,0.5: batch_size takes positive "
                                       "integers up to the training set's size, got '0.5'"),
    (["--param", "batch_size=0"], "batch_size takes positive integers"),
    (["--param", "batch_size=2000"], "--param batch_size=2000: batch_size takes positive "
                                     "integers up to the training set's size (1077), got '2000'"),
    (["--param", "train_size=100", "--param", "batch_size=128"],
     "batch_size takes positive integers up to the training set's size (100), got '128'"),
    (["--param", "widths=64,ax3"], "--param widths=64,ax3: widths takes hidden layer sizes"),
    (["--param", "depth=2.5"], "--param depth=2.5: depth takes positive integers"),
    (["--param", "schedule=cosine,bogus"], "schedule takes names among constant, cosine"),
    (["--param", "batch_size=32", "--param", "batch_size=64"],
     "--param batch_size: name must be given once, got it twice"),
    (["--param", "batch_size=32", "--dataset", "quadratic"],
     "--param batch_size: static axes apply to --dataset digits, got quadratic"),
    (["--halving", "1"], "--halving must be an integer in [2, 1000], got 1"),
    (["--min-steps", "10"], "--min-steps 10: applies with --halving ETA, which is off"),
    (["--halving", "3", "--min-steps", "30"],
     "--min-steps must be a multiple of --eval-every 25 in [25, 500] (--steps: a budget smaller "
     "than one rung), got 30"),
    (["--halving", "3", "--min-steps", "525"], "--min-steps must be a multiple of --eval-every"),
    (["--halving", "3", "--param", "batch_size=32,64"],
     "--halving 3: successive halving runs digits sweeps without static axes, got static axes "
     "(batch_size)"),
    (["--halving", "3", "--dataset", "quadratic"],
     "--halving 3: successive halving runs digits sweeps without static axes, got --dataset "
     "quadratic"),
])
def test_bad_static_axes_give_one_line(arguments, message, tmp_path, capsys):
  code = cli.main(["sweep", "--param", "learning_rate=1e-3", *arguments, "--out", str(tmp_path)])
  error = capsys.readouterr().err.strip()
  assert code == 2 and message in error and len(error.splitlines()) == 1, error
  assert not list(tmp_path.rglob("chunk-*"))


def test_help_names_the_static_axes(capsys):
  with pytest.raises(SystemExit):
    cli.main(["sweep", "--help"])
  text = " ".join(capsys.readouterr().out.split())
  assert all(name in text for name in STATIC) and "one compiled program per combination" in text
