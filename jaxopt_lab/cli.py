"""The `jaxopt-lab` command: one subcommand per study of `jaxopt_lab.studies.REGISTRY`.

  jaxopt-lab --help                          lists every study
  jaxopt-lab trajectories --out results/t    runs one; `--quick` makes a small, fast version

Every user error ends in one line naming the option, the value and what is valid (with the
closest valid name for a mistyped study, option or choice), before any compute where it can
be (a bad option, an --out that cannot be written); exit code 2. A file that cannot be
written later ends in one line too (exit code 1), warnings are one line each,
and Ctrl-C ends with one line saying how many runs are saved and that the same command
resumes (exit code 130). Set JAXOPT_LAB_TRACEBACK=1 to see the traceback behind such a line.
"""
import argparse
import os
import re
import sys
import warnings
from pathlib import Path

from jaxopt_lab import studies
from jaxopt_lab._validation import did_you_mean
from jaxopt_lab.files import output_folder
from jaxopt_lab.sweeps.store import saved_runs


class Parser(argparse.ArgumentParser):
  """argparse, with its errors in one line (the usage is one `--help` away) and the closest
  valid name suggested for a mistyped choice (a study, --dataset, --schedule, ...)."""

  def error(self, message: str):
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
      message += did_you_mean(choice[1], re.findall(r"'([^']*)'", choice[2]) or
                              choice[2].split(", "))
    self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.HelpFormatter):
  """Every option's help ends with its default, unless the help already says it, or it has
  none (None) or is a switch (False)."""

  def _get_help_string(self, action):
    text = action.help or ""
    if ("default" not in text and action.option_strings and action.default is not None and
        action.default is not False and action.default is not argparse.SUPPRESS):
      text += " (default: %(default)s)"
    return text


def folder(text: str) -> Path:
  """--out's type: a non-empty path (Path('') would silently mean the current folder)."""
  if not text.strip():
    raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
  return Path(text)


def build_parser() -> argparse.ArgumentParser:
  parser = Parser(
      prog="jaxopt-lab",
      description="Optimizer studies: sweeps, convergence theory, gradient checks.")
  commands = parser.add_subparsers(dest="study", required=True, metavar="STUDY")
  for name in studies.REGISTRY:
    module = studies.load(name)
    study = commands.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION,
                                formatter_class=HelpFormatter)
    study.add_argument("--out", type=folder, default=Path("results") / name,
                       help="folder for figures and tables (default: %(default)s)")
    study.add_argument("--quick", action="store_true",
                       help="a small, fast version (for smoke tests)")
    module.add_arguments(study)
    study.set_defaults(main=module.main)
  return parser


def study_options(parser: argparse.ArgumentParser, study: str) -> list[str]:
  """Every option string `jaxopt-lab <study>` takes."""
  (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
  return [flag for action in commands.choices[study]._actions for flag in action.option_strings]


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
  print(f"jaxopt-lab: warning: {category.__name__}: {message}", file=sys.stderr)


def main(argv=None) -> int:
  parser = build_parser()
  args, unknown = parser.parse_known_args(argv)
  if unknown:
    options = study_options(parser, args.study)
    parser.error(f"unrecognized arguments: {' '.join(unknown)}"
                 f"{did_you_mean(unknown[0].split('=')[0], options)}")
  prefix = f"jaxopt-lab {args.study}"
  with warnings.catch_warnings():
    warnings.showwarning = _one_line_warning
    try:
      output_folder("--out", args.out)
      written = args.main(args)
    except (ValueError, OSError, KeyboardInterrupt) as error:
      if os.environ.get("JAXOPT_LAB_TRACEBACK"):
        raise
      print(f"{prefix}: {_one_line(error, args.out)}", file=sys.stderr)
      return 130 if isinstance(error, KeyboardInterrupt) else 2 if isinstance(error,
                                                                              ValueError) else 1
  for path in written:
    print(f"wrote {path}")
  return 0


def _one_line(error: BaseException, out: Path) -> str:
  if isinstance(error, KeyboardInterrupt):
    saved = saved_runs(out)
    if saved:
      return (f"interrupted: {saved} finished runs are saved under {out}; the same command "
              f"resumes from them")
    return "interrupted before any result was saved; the same command starts again"
  if isinstance(error, OSError):
    return f"error: {error.filename or 'a file'}: {error.strerror or error}"
  return f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}"


if __name__ == "__main__":
  sys.exit(main())
