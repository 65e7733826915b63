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
from jaxopt_lab.train.dropout import dropout

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

  Training with dropout calls `model(x, dropout_rate=p, key=key)`: each hidden unit is
  zeroed with probability p (Srivastava et al. 2014); evaluation calls `model(x)`.

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

  def hidden_activations(self, x: jax.Array, *, dropout_rate=0.0, key=None) -> list:
    """[h_1, ..., h_L]: each hidden layer's output [n, width_l]. With a `key` (training),
    each is passed through `dropout(h_l, fold_in(key, l), dropout_rate)`; without one
    (evaluation) dropout is off, as inverted dropout needs no rescaling at test time."""
    act = ACTIVATIONS[self.activation]
    outputs = []
    for index, layer in enumerate(self.hidden):
      x = act(layer(x))
      if key is not None:
        x = dropout(x, jax.random.fold_in(key, index), dropout_rate)
      outputs.append(x)
    return outputs

  def __call__(self, x: jax.Array, *, dropout_rate=0.0, key=None) -> jax.Array:
    """Logits [n, classes] of x [n, in_features]; dropout on the hidden layers when a `key`
    is given (see `hidden_activations`)."""
    hidden = self.hidden_activations(x, dropout_rate=dropout_rate, key=key)
    return self.output(hidden[-1] if hidden else x)


class LinearClassifier(nnx.Module):
  """The lectures' linear score function s = W x + b, stored as flax does: x @ kernel + bias
  with kernel = W^T [features, classes]. Kernel initialised N(0, scale^2), bias 0."""

  def __init__(self, in_features: int, num_classes: int, scale: float = 1e-3, *,
               rngs: nnx.Rngs):
    self.linear = nnx.Linear(in_features, num_classes,
                             kernel_init=nnx.initializers.normal(scale), rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.linear(x)
