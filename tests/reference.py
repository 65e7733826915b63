"""The lectures' pseudocode in NumPy float64, one loop per optimizer, on a flat vector x.

Each `run_*` takes grad(x) -> dx, a start x0 and a step count, and returns the iterates
[x0, x1, ..., x_steps] exactly as the lecture slides write the update. Squares are written
|dx|^2, so a complex x (optax's convention: dx the conjugate of jax.grad's) is a
(real, imaginary) pair with one second moment.
"""
import numpy as np


def run_sgd(grad, x0, steps, learning_rate):
  x, path = x0.copy(), [x0.copy()]
  for _ in range(steps):
    dx = grad(x)
    x -= learning_rate * dx
    path.append(x.copy())
  return path


def run_momentum(grad, x0, steps, learning_rate, rho):
  x, vx, path = x0.copy(), np.zeros_like(x0), [x0.copy()]
  for _ in range(steps):
    dx = grad(x)
    vx = rho * vx + dx
    x -= learning_rate * vx
    path.append(x.copy())
  return path


def run_nesterov(grad, x0, steps, learning_rate, rho):
  """The change-of-variables form: the gradient is taken at the iterate itself."""
  x, v, path = x0.copy(), np.zeros_like(x0), [x0.copy()]
  for _ in range(steps):
    dx = grad(x)
    old_v = v
    v = rho * v - learning_rate * dx
    x += -rho * old_v + (1 + rho) * v
    path.append(x.copy())
  return path


def run_adagrad(grad, x0, steps, learning_rate, eps=1e-7):
  x, grad_squared, path = x0.copy(), np.zeros(x0.shape), [x0.copy()]
  for _ in range(steps):
    dx = grad(x)
    grad_squared += abs(dx) ** 2
    x -= learning_rate * dx / (np.sqrt(grad_squared) + eps)
    path.append(x.copy())
  return path


def run_rmsprop(grad, x0, steps, learning_rate, decay_rate, eps=1e-8):
  x, grad_squared, path = x0.copy(), np.zeros(x0.shape), [x0.copy()]
  for _ in range(steps):
    dx = grad(x)
    grad_squared = decay_rate * grad_squared + (1 - decay_rate) * abs(dx) ** 2
    x -= learning_rate * dx / (np.sqrt(grad_squared) + eps)
    path.append(x.copy())
  return path


def run_adam(grad, x0, steps, learning_rate, beta1, beta2, eps=1e-8, bias_correction=True):
  """With bias_correction=False this is the lecture's "Adam (almost)"."""
  x, path = x0.copy(), [x0.copy()]
  first_moment, second_moment = np.zeros_like(x0), np.zeros(x0.shape)
  for t in range(1, steps + 1):
    dx = grad(x)
    first_moment = beta1 * first_moment + (1 - beta1) * dx
    second_moment = beta2 * second_moment + (1 - beta2) * abs(dx) ** 2
    if bias_correction:
      first_unbias = first_moment / (1 - beta1 ** t)
      second_unbias = second_moment / (1 - beta2 ** t)
    else:
      first_unbias, second_unbias = first_moment, second_moment
    x -= learning_rate * first_unbias / (np.sqrt(second_unbias) + eps)
    path.append(x.copy())
  return path


def run_amsgrad_reddi(grad, x0, steps, learning_rate, beta1, beta2, eps=0.0):
  """Reddi, Kale & Kumar (2018), Algorithm 2, constant alpha and beta1 (eps=0 is theirs)."""
  x, path = x0.copy(), [x0.copy()]
  m, v, v_hat = np.zeros_like(x0), np.zeros(x0.shape), np.zeros(x0.shape)
  for _ in range(steps):
    g = grad(x)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * abs(g) ** 2
    v_hat = np.maximum(v_hat, v)
    x -= learning_rate * m / (np.sqrt(v_hat) + eps)
    path.append(x.copy())
  return path
