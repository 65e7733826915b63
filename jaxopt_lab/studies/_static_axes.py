"""The sweep CLI's static axes and successive-halving options, checked before anything runs:
which --param names are task options (one compiled program per combination of their values),
how their values are written, and when --halving applies."""
from jaxopt_lab.sweeps.tasks import SCHEDULES

STATIC = {
    # a --param name that is a task option (it changes the compiled program): what it takes
    "batch_size": "positive integers up to the training set's size",
    "train_size": "positive integers up to 1077 (digits' training set)",
    "widths": "hidden layer sizes, layers joined by x (e.g. 64,128x64)",
    "depth": "positive integers (hidden layers, each as wide as the first of --widths)",
    "schedule": f"names among {', '.join(SCHEDULES)}",
}
"""Static axes: each combination of their values is its own compiled program, vmapped over the
numeric --param axes; one table and one report hold them all (`sweeps.static`)."""


def check_halving(args, static: dict) -> None:
  """--halving needs a resumable task (digits), no static axes, and a first rung that fits."""
  if args.halving is None:
    return
  if args.dataset != "digits" or static:
    given = f"--dataset {args.dataset}" if args.dataset != "digits" else \
        f"static axes ({', '.join(static)})"
    raise ValueError(f"--halving {args.halving}: successive halving runs digits sweeps without "
                     f"static axes, got {given}")
  every, steps = args.eval_every, args.steps
  if args.min_steps is not None and not (every <= args.min_steps <= steps and
                                         args.min_steps % every == 0):
    raise ValueError(f"--min-steps must be a multiple of --eval-every {every} in [{every}, "
                     f"{steps}] (--steps: a budget smaller than one rung), got {args.min_steps}")


def static_axes(assignments: list, args) -> tuple:
  """The --param assignments split into ({static name: values}, the numeric ones), every
  static value checked (one line naming the option and what it takes)."""
  static, numeric = {}, []
  for assignment in assignments:
    name, _, text = assignment.partition("=")
    name = name.strip()
    if name not in STATIC:
      numeric.append(assignment)
      continue
    if args.dataset != "digits":
      raise ValueError(f"--param {name}: static axes apply to --dataset digits, got "
                       f"{args.dataset}")
    if name in static:
      raise ValueError(f"--param {name}: name must be given once, got it twice")
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
      raise ValueError(f"--param {assignment}: an axis must hold at least one value; "
                       f"{name} takes {STATIC[name]}")
    static[name] = [_static_value(name, value, assignment, static, args) for value in values]
  return static, numeric


def _static_value(name: str, value: str, assignment: str, static: dict, args):
  wrong = ValueError(f"--param {assignment}: {name} takes {STATIC[name]}, got {value!r}")
  if name == "schedule":
    if value not in SCHEDULES:
      raise wrong
    return value
  try:
    numbers = tuple(int(v) for v in value.split("x"))
  except ValueError:
    raise wrong from None
  if any(n < 1 for n in numbers) or (name != "widths" and len(numbers) != 1):
    raise wrong
  if name == "batch_size" and numbers[0] > min(static.get("train_size", [1077])):
    raise ValueError(f"--param {assignment}: batch_size takes positive integers up to the "
                     f"training set's size ({min(static.get('train_size', [1077]))}), got "
                     f"{value!r}")
  if name == "train_size" and numbers[0] > 1077:
    raise wrong
  return numbers if name == "widths" else numbers[0]
