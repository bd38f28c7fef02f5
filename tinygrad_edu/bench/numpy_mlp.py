"""The hand-written NumPy baseline: an MLP's forward, backward and SGD step, no autograd.

Every gradient is written out by hand, the way a NumPy user would; read it beside
ops.py's Linear, ReLU and SoftmaxCrossEntropy to see the same chain rule that
tinygrad_edu derives from the graph. Read mlp_step.py next for how it is timed.
"""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer targets, and its gradient with respect to the logits.

    loss = mean_i(logsumexp(z_i) - z_i[t_i]);  dloss/dz_i = (softmax(z_i) - onehot(t_i)) / N.
    Shifting each row by its maximum keeps exp() from overflowing.
    """
    rows = np.arange(len(target))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(sum_exp[:, 0]) - shifted[rows, target]))
    grad = exp / sum_exp  # softmax
    grad[rows, target] -= 1.0
    grad /= len(target)
    return loss, grad


class NumpyMLP:
    """Linear layers with ReLU between them, trained by plain SGD.

    `layers` holds (weight (out, in), bias (out,)) pairs in PyTorch's layout; they
    are copied, so the caller's arrays are never changed.
    """

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], lr: float):
        self.layers = [(weight.copy(), bias.copy()) for weight, bias in layers]
        self.lr = lr

    def step(self, x: np.ndarray, target: np.ndarray) -> float:
        """One training step on a batch; returns the loss before the update."""
        # Forward: keep each layer's input, backward needs it for the weight gradient.
        inputs = []
        h = x
        for index, (weight, bias) in enumerate(self.layers):
            inputs.append(h)
            h = h @ weight.T
            h += bias
            if index < len(self.layers) - 1:
                np.maximum(h, 0, out=h)  # ReLU in place: the pre-activation is not needed again
        loss, grad = softmax_cross_entropy(h, target)

        # Backward, last layer first; update each layer once its input gradient is computed.
        for index in reversed(range(len(self.layers))):
            weight, bias = self.layers[index]
            h_in = inputs[index]
            grad_weight = grad.T @ h_in
            grad_bias = grad.sum(axis=0)
            if index > 0:
                # Through this layer (with the weight before the update), then back through
                # the previous ReLU: h_in = relu(z) is > 0 exactly where z > 0.
                grad = grad @ weight
                grad *= h_in > 0
            weight -= self.lr * grad_weight
            bias -= self.lr * grad_bias
        return loss
