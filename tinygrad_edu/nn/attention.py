"""Scaled dot-product attention: softmax(Q Kᵀ / √E + mask) V, from core ops.

Each query takes a weighted average of the values, weighted by how well it matches each
key. The gradient comes from the graph (matmul, mul, where, softmax, matmul).
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, where


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Forward: out = softmax(Q Kᵀ · s + M) V along the key axis;  Q (..., L, E), K (..., S, E),
              V (..., S, Ev) -> out (..., L, Ev), s = scale or 1/√E, M = attn_mask (a bool
              mask: True takes part, False is -∞; a float mask is added) or causal
    Local:    ∂out/∂V = Pᵀ ·, ∂out/∂P = · Vᵀ, softmax's Jacobian, then ∂(Q Kᵀ)/∂Q = K, /∂K = Q
    Backward: from the graph: grad_V = Pᵀ grad, grad_P = grad Vᵀ, grad_scores = softmax
              backward of grad_P, grad_Q = grad_scores K · s, grad_K = grad_scoresᵀ Q · s
    """
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if not isinstance(tensor, Tensor) or tensor.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must be a Tensor (..., N, E)")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            "scaled_dot_product_attention: query (..., L, E), key (..., S, E) and value "
            f"(..., S, Ev) do not fit: got {query.shape}, {key.shape}, {value.shape}"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:  # query i sees keys 0..i (the upper-left triangle, as PyTorch)
        attn_mask = np.tril(np.ones((query.shape[-2], key.shape[-2]), dtype=bool))
    if attn_mask is not None:
        scores = _apply_mask(scores, attn_mask)
    weights = scores.softmax(axis=-1)
    if dropout_p > 0.0:
        from .functional import dropout  # here, not at the top: functional imports this file

        weights = dropout(weights, dropout_p)
    return weights @ value


def _apply_mask(scores: Tensor, attn_mask) -> Tensor:
    """A bool mask keeps the scores where True and puts -∞ elsewhere; a float mask is added."""
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    if mask.dtype == bool:
        return where(mask, scores, float("-inf"))
    if isinstance(attn_mask, Tensor):
        return scores + attn_mask
    return scores + Tensor._wrap(mask.astype(scores.dtype))
