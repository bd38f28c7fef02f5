"""Special functions as primitive ops: erf, the one GELU needs and no Tensor op can compose.

Same contract as ops.py (read function.py first): forward on numpy arrays, backward
returns dLoss/dInput. The backward uses only arithmetic and `exp` below, so the same
line can later run on Tensors to give second derivatives.
"""

import math

import numpy as np

from .function import Function

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# math.erf (the C library's erf, accurate to about 1 ulp in float64) applied elementwise.
# No vectorised erf exists in numpy, and scipy is not a dependency.
_erf_elementwise = np.frompyfunc(math.erf, 1, 1)


def exp(value):
    """eˣ of an array or of anything with an .exp() method (a Tensor)."""
    return value.exp() if hasattr(value, "exp") else np.exp(value)


class Erf(Function):
    """Forward: out = erf(x) = (2/√π) ∫₀ˣ e^(-t²) dt
    Local:    ∂out/∂x = (2/√π) e^(-x²)
    Backward: grad_x = grad · (2/√π) · e^(-x²)
    """

    def forward(self, x):
        self.x = x
        # Computed in float64 and rounded once to x's dtype (float32 stays float32);
        # np.array also turns the Python float of a 0-d input back into an array.
        return np.array(_erf_elementwise(x.astype(np.float64)), dtype=x.dtype)

    def backward(self, grad):
        x = self.x
        return (grad * TWO_OVER_SQRT_PI * exp(-(x * x)),)
