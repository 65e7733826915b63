"""Model-based search (Optuna TPE, batch ask/tell) on the momentum-on-a-quadratic run: each
batch one compiled sweep, reproducible from its seed, resumable, and learning from the results;
without Optuna, one line naming the option and the install command."""
import sys

import numpy as np
import pytest

from quadratic_sweep import TRACES, run
from jaxopt_lab.sweeps.objective import Objective
from jaxopt_lab.sweeps.search import tpe_search
from jaxopt_lab.sweeps.space import parse_space

OBJECTIVE = Objective("final_train_loss", maximize=False)
SPACE = parse_space(["learning_rate=loguniform:1e-3:10:24", "beta=uniform:0:0.99:24"])


def search(**options):
  return tpe_search(run, SPACE, [0], OBJECTIVE, batch_size=8, seed=1, chunk_size=8,
                    progress=False, **options)


def test_tpe_batches_are_one_program_reproducible_resumable_and_learn(tmp_path):
  TRACES.clear()
  first = search(out=tmp_path)
  assert len(TRACES) == 1  # three batches of 8, one compiled program
  table = first.table
  assert list(table.batch) == [0] * 8 + [1] * 8 + [2] * 8 and list(table.config) == list(range(24))
  assert table.learning_rate.between(1e-3, 10).all() and table.beta.between(0, 0.99).all()
  assert first.curves["train_loss"].shape == (24, 100)
  # TPE proposes from what it was told: its first model-based batch beats the random one
  loss = np.log10(table.final_train_loss.where(~table.diverged, np.inf))
  assert np.median(loss[table.batch == 1]) < np.median(loss[table.batch == 0]) - 1
  assert loss[table.batch > 0].min() < loss[table.batch == 0].min() - 1
  again = search(out=tmp_path)   # the same batches are proposed, and loaded from out
  assert again.seconds == 0 and again.table.equals(table)
  other = tpe_search(run, SPACE, [0], OBJECTIVE, batch_size=8, trials=8, seed=2, chunk_size=8,
                     progress=False)
  assert not np.array_equal(other.table.learning_rate, table.learning_rate[:8])


def test_without_optuna_tpe_is_one_line_with_the_install_command(monkeypatch):
  monkeypatch.setitem(sys.modules, "optuna", None)   # import optuna now raises ImportError
  with pytest.raises(ValueError) as error:
    tpe_search(run, SPACE, [0], OBJECTIVE, batch_size=8, option="--search tpe")
  message = str(error.value)
  assert message.startswith("--search tpe: needs Optuna, which is not installed; install it "
                            "with pip install 'jaxopt_lab[optuna]'") and "\n" not in message


@pytest.mark.parametrize("options, message", [
    ({"batch_size": 0}, "tpe_search(batch_size=0): batch_size must be an integer in [1, inf)"),
    ({"batch_size": 4, "trials": 0}, "tpe_search(trials=0): trials must be an integer in [1, "),
])
def test_bad_batch_sizes_are_one_line(options, message):
  with pytest.raises(ValueError) as error:
    tpe_search(run, SPACE, [0], OBJECTIVE, **options)
  assert str(error.value).startswith(message)
