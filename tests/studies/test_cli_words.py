"""The words of `jaxopt-lab`: every option of every study explained, with its default and
choices; one spelling per option; a mistyped name answered with the closest valid one."""
import argparse

import pytest

from jaxopt_lab import cli, studies
from jaxopt_lab._validation import did_you_mean


def study_parsers():
  parser = cli.build_parser()
  (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
  return commands.choices


def test_every_option_of_every_study_has_help_with_its_default_and_choices():
  bare, missing_default = [], []
  for name, parser in study_parsers().items():
    formatter = parser._get_formatter()
    for action in parser._actions:
      if isinstance(action, argparse._HelpAction):
        continue
      where = f"{name} {'/'.join(action.option_strings) or action.dest}"
      if not (action.help and action.help.strip()):
        bare.append(where)
        continue
      text = formatter._expand_help(action)
      if action.option_strings and action.default not in (None, False) and \
          "default" not in text:
        missing_default.append(where)
      if action.choices and not isinstance(action, argparse._SubParsersAction):
        assert all(str(choice) in parser.format_usage() for choice in action.choices), where
  assert bare == [] and missing_default == []


def test_sweep_help_shows_defaults_and_choices():
  text = study_parsers()["sweep"].format_help()
  for words in ["--seeds SEEDS", "(default: 1)", "--steps STEPS", "(default: 500)",
                "--batch-size", "(default: 64)", "{sigmoid,tanh,relu,leaky_relu,elu}",
                "--top-k", "(default: 5)", "--memory-gb", "(default: 4.0)"]:
    assert words in text


def test_one_spelling_for_the_optimizer_option_across_studies():
  spellings = {}
  for name, parser in study_parsers().items():
    for action in parser._actions:
      if any(flag.startswith("--optimizer") for flag in action.option_strings):
        spellings[name] = action.option_strings
  assert set(spellings) == {"sweep", "digits-optimizers", "trajectories"}
  assert all(flags[0] == "--optimizer" for flags in spellings.values())  # --optimizers: alias


@pytest.mark.parametrize("argv, words", [
    (["sweeep"], "invalid choice: 'sweeep'"),
    (["sweep", "--stepz", "10"], "unrecognized arguments: --stepz 10 (did you mean '--steps'?)"),
    (["sweep", "--activation", "relux"], "(did you mean 'relu'?)"),
    (["sweep", "--optimizer", "sgd,adma"], "unknown adma (did you mean 'adam'?)"),
    (["trajectories", "--optimizer", "nesterv"], "unknown nesterv (did you mean 'nesterov'?)"),
    (["sweep", "--param", "learning_rat=0.1"], "(did you mean 'learning_rate'?); choose from"),
])
def test_a_mistyped_name_gets_the_closest_valid_one_in_one_line(argv, words, tmp_path, capsys):
  try:
    code = cli.main([*argv, "--out", str(tmp_path)])
  except SystemExit as exit_:
    code = exit_.code
  error = capsys.readouterr().err.strip()
  assert code == 2 and error.splitlines() == [error] and words in error
  if argv == ["sweeep"]:
    assert error.endswith("(did you mean 'sweep'?) (see jaxopt-lab --help)")


def test_did_you_mean_stays_silent_when_nothing_is_close():
  assert did_you_mean("adma", ["adam", "sgd"]) == " (did you mean 'adam'?)"
  assert did_you_mean("xyz", ["adam", "sgd"]) == ""
  assert set(studies.REGISTRY) == set(study_parsers())
