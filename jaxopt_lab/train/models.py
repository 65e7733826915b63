"""flax.nnx classifiers: a multilayer perceptron of any widths and activation, and a linear one.

  model = MLP(64, (64, 64), 10, "relu", rngs=nnx.Rngs(0))   # 64 -> 64 -> 64 -> 10
  logits = model(x)                                          # x [n, 64] -> [n, 10]

Both return unnormalised class scores (logits); pair them with `jaxopt_lab.train.losses`. A training
run uses them through `nnx.split` / `nnx.merge` (see `jaxopt_lab.train.loop`), so the whole run is
a pure function of its hyperparameters and PRNG key.
"""
import jax
from flax import nnx

from jaxopt_lab._validation import Interval, check_int

ACTIVATIONS = {
    "sigmoid": jax.nn.sigmoid,
    "tanh": jax.nn.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,   # slope 0.01 for x < 0
    "elu": jax.nn.elu,                 # alpha 1
}
"""Hidden-layer nonlinearities by name."""

# The lectures' initialisations: He (variance 2 / fan_in) for the ReLU family, so activations
# keep their scale through depth; 1 / fan_in ("Xavier" in the lectures) for sigmoid and tanh.
_INITIALISERS = {
    "sigmoid": nnx.initializers.lecun_normal(),
    "tanh": nnx.initializers.lecun_normal(),
    "relu": nnx.initializers.he_normal(),
    "leaky_relu": nnx.initializers.he_normal(),
    "elu": nnx.initializers.he_normal(),
}


class MLP(nnx.Module):
  """h_0 = x; h_l = act(h_{l-1} W_l + b_l) for each width; logits = h_L W + b.

  `widths` gives the hidden layers (its length is the depth; `()` is a linear classifier).
  Kernels are drawn He-normal for relu/leaky_relu/elu and LeCun-normal for sigmoid/tanh;
  biases start at 0.
  """

  def __init__(self, in_features: int, widths: tuple, num_classes: int,
               activation: str = "relu", *, rngs: nnx.Rngs):
    if activation not in ACTIVATIONS:
      raise ValueError(f"MLP(activation={activation!r}): activation must be one of "
                       f"{', '.join(ACTIVATIONS)}, got {activation!r}")
    widths = tuple(widths)
    counts = {"in_features": in_features, "num_classes": num_classes}
    counts |= {f"widths[{i}]": width for i, width in enumerate(widths)}
    check_int("MLP", **{name: (value, Interval(1, float("inf"))) for name, value in counts.items()})
    sizes = (in_features, *widths)
    initialiser = _INITIALISERS[activation]
    self.hidden = nnx.List([nnx.Linear(a, b, kernel_init=initialiser, rngs=rngs)
                            for a, b in zip(sizes[:-1], sizes[1:])])
    self.output = nnx.Linear(sizes[-1], num_classes, kernel_init=initialiser, rngs=rngs)
    self.activation = activation

  def __call__(self, x: jax.Array) -> jax.Array:
    act = ACTIVATIONS[self.activation]
    for layer in self.hidden:
      x = act(layer(x))
    return self.output(x)


class LinearClassifier(nnx.Module):
  """The lectures' linear score function s = W x + b, stored as flax does: x @ kernel + bias
  with kernel = W^T [features, classes]. Kernel initialised N(0, scale^2), bias 0."""

  def __init__(self, in_features: int, num_classes: int, scale: float = 1e-3, *,
               rngs: nnx.Rngs):
    self.linear = nnx.Linear(in_features, num_classes,
                             kernel_init=nnx.initializers.normal(scale), rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.linear(x)
