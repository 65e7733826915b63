"""The run the sweep-engine tests and the 8-device script share: momentum on a 10-D quadratic,
100 steps, its loss curve and final distance to the minimum."""
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lab.optim.aliases import momentum

HESSIAN = jnp.diag(jnp.linspace(0.01, 1.0, 10))
TRACES = []


def run(hparams, key):
  TRACES.append(1)
  optimizer = momentum(hparams["learning_rate"], hparams["beta"])
  w = jax.random.normal(key, (10,))

  def step(carry, _):
    w, state = carry
    updates, state = optimizer.update(HESSIAN @ w, state, w)
    w = optax.apply_updates(w, updates)
    return (w, state), 0.5 * w @ HESSIAN @ w

  losses = jax.lax.scan(step, (w, optimizer.init(w)), length=100)[1]
  return {"train_loss": losses, "final_norm": jnp.linalg.norm(w)}


def columns(learning_rates, beta=0.9):
  learning_rates = np.asarray(learning_rates, np.float64)
  return {"learning_rate": learning_rates, "beta": np.full(learning_rates.shape, beta)}
