"""Looking rows up by integer index: one_hot, embedding and the Embedding layer.

A lookup is integer-array indexing (ops.GetItem), whose backward scatters the gradient
back with np.add.at: a row picked twice receives both gradients. Read padding.py next.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, int64, where
from . import init
from .module import Module, Parameter

DEFAULT_DTYPE = np.float32


def _indices(value, name: str) -> np.ndarray:
    """An integer Tensor, array or list as an int64 array."""
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """out[..., c] = 1 where tensor[...] = c, else 0: an int64 Tensor of shape tensor.shape + (C,),
    C = num_classes, or max(tensor) + 1 when num_classes is -1 (as PyTorch). Not differentiable."""
    indices = _indices(tensor, "one_hot")
    if indices.size and indices.min() < 0:
        raise ValueError("one_hot: class values must be non-negative")
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(indices.max()) + 1
    if num_classes < 0 or (indices.size and indices.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be smaller than num_classes ({num_classes})")
    return Tensor._wrap((indices[..., None] == np.arange(num_classes)).astype(int64))


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Forward: out[...] = weight[input[...]]   input ints (...), weight (V, D) -> out (..., D)
    Local:    each output row is a copy of the weight row it names
    Backward: grad_weight[v] = Σ of grad over the positions where input = v (ops.GetItem's
              scatter-add); the padding_idx row receives no gradient, as PyTorch
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim)")
    indices = _indices(input, "embedding")
    count = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        raise IndexError(
            f"embedding: indices must lie in [0, {count}), got {indices.min()} to {indices.max()}"
        )
    rows = weight[indices]
    if padding_idx is None:
        return rows
    # The padding positions read the same values, detached: their gradient stops here.
    learned = np.asarray(indices % count != padding_idx % count)[..., None]
    return where(learned, rows, rows.detach())


class Embedding(Module):
    """A lookup table of num_embeddings vectors of size embedding_dim (weight (V, D)).

    Init as PyTorch: weight ~ N(0, 1), and the padding_idx row (if any) zeros; that row
    then gets no gradient, so it stays zero while training."""

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *, dtype=None
    ):
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within [-{num_embeddings}, "
                    f"{num_embeddings}), got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype or DEFAULT_DTYPE))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        extra = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"
