# cython: language_level=3
"""Cython bindings of the C core: check, release the GIL, call C, map the status.

This file is the safety boundary: whatever Python passes, every array's type,
dtype, byte order, contiguity, alignment, writability, shape and overlap is
checked here before a pointer reaches C. Checks use numpy's C API (no Python
attribute lookups on the happy path) because ops.py calls these per op.
"""
import math

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy

cnp.import_array()

ctypedef cnp.ndarray ndarray


# ---- checks shared by every kernel ------------------------------------------------


cdef tuple shape(ndarray x):
    """x.shape as a Python tuple, for messages (on a typed ndarray .shape is a C pointer)."""
    return (<object>x).shape


cdef int check_status(tg_status status, str kernel) except -1:
    """Turn a C status code into the Python exception that explains it."""
    if status == TG_OK:
        return 0
    if status == TG_ERR_NOMEM:
        raise MemoryError(f"{kernel}: could not allocate a work buffer")
    raise ValueError(f"{kernel}: invalid size or leading dimension (status {<int>status})")


cdef int float_type(ndarray x, str kernel, str name) except -1:
    """The numpy type number of x if it is native-endian float32/float64, else TypeError."""
    cdef int typenum = cnp.PyArray_TYPE(x)
    if (typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64) \
            or not cnp.PyArray_ISNOTSWAPPED(x):
        raise TypeError(f"{kernel}: {name} must be float32 or float64, got {x.dtype}")
    return typenum


cdef int check_dtype(ndarray x, int typenum, str kernel, str name, ndarray like,
                     str like_name) except -1:
    """TypeError unless x has the same (native-endian) dtype as `like`."""
    if cnp.PyArray_TYPE(x) != typenum or not cnp.PyArray_ISNOTSWAPPED(x):
        raise TypeError(f"{kernel}: {name} and {like_name} must have the same dtype, "
                        f"got {x.dtype} and {like.dtype}")
    return 0


cdef int check_layout(ndarray x, str kernel, str name, bint writable) except -1:
    """ValueError unless x is C-contiguous, aligned and (if asked) writable."""
    if not cnp.PyArray_IS_C_CONTIGUOUS(x):
        raise ValueError(f"{kernel}: {name} must be C-contiguous (got strides {(<object>x).strides} "
                         f"for shape {shape(x)}); pass numpy.ascontiguousarray({name})")
    if not cnp.PyArray_ISALIGNED(x):
        raise ValueError(f"{kernel}: {name} must be aligned to its element size")
    if writable and not cnp.PyArray_ISWRITEABLE(x):
        raise ValueError(f"{kernel}: {name} must be writable (it is read-only)")
    return 0


cdef int check_ndim(ndarray x, int ndim, str kernel, str name) except -1:
    if cnp.PyArray_NDIM(x) != ndim:
        raise ValueError(f"{kernel}: {name} must be {ndim}-D, got shape {shape(x)}")
    return 0


cdef cnp.npy_intp span(ndarray x):
    """Bytes from x's first element to the end of its last (strides are >= 0 here)."""
    if cnp.PyArray_SIZE(x) == 0:
        return 0
    cdef cnp.npy_intp bytes = cnp.PyArray_ITEMSIZE(x)
    cdef int d
    for d in range(cnp.PyArray_NDIM(x)):
        bytes += (cnp.PyArray_DIMS(x)[d] - 1) * cnp.PyArray_STRIDES(x)[d]
    return bytes


cdef bint overlaps(ndarray x, ndarray y):
    """True if the memory ranges of two arrays (with strides >= 0) intersect."""
    cdef char *x0 = <char *>cnp.PyArray_DATA(x)
    cdef char *y0 = <char *>cnp.PyArray_DATA(y)
    cdef cnp.npy_intp x_bytes = span(x), y_bytes = span(y)
    if x_bytes == 0 or y_bytes == 0:
        return False
    return x0 < y0 + y_bytes and y0 < x0 + x_bytes


cdef int check_no_overlap(ndarray out, ndarray x, str kernel, str out_name,
                          str name) except -1:
    if overlaps(out, x):
        raise ValueError(f"{kernel}: {out_name} overlaps {name}; pass a separate array")
    return 0


cdef int check_same_or_no_overlap(ndarray out, ndarray x, str kernel, str out_name,
                                  str name) except -1:
    """Elementwise kernels may write in place (out is x), but not onto a shifted x."""
    if cnp.PyArray_DATA(out) == cnp.PyArray_DATA(x):
        return 0
    return check_no_overlap(out, x, kernel, out_name, name)


cdef ndarray output(object out, int ndim, cnp.npy_intp *dims, int typenum, str kernel,
                    str name):
    """A fresh array of shape dims, or `out` after checking it can receive the result."""
    if out is None:
        return <ndarray>cnp.PyArray_EMPTY(ndim, dims, typenum, 0)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{kernel}: {name} must be a numpy.ndarray or None, "
                        f"got {type(out).__name__}")
    cdef ndarray array = <ndarray>out
    if cnp.PyArray_TYPE(array) != typenum or not cnp.PyArray_ISNOTSWAPPED(array):
        raise TypeError(f"{kernel}: {name} must have dtype "
                        f"{cnp.PyArray_DescrFromType(typenum)}, got {array.dtype}")
    cdef bint same = cnp.PyArray_NDIM(array) == ndim
    cdef int d
    for d in range(ndim if same else 0):
        same = same and cnp.PyArray_DIMS(array)[d] == dims[d]
    if not same:
        expected = tuple([dims[d] for d in range(ndim)])
        raise ValueError(f"{kernel}: {name} must have shape {expected}, got {shape(array)}")
    check_layout(array, kernel, name, True)
    return array


# ---- the float32/float64 twin of each C kernel, chosen in one place -----------------
#
# csrc/ compiles every kernel twice (..._f32 and ..._f64). Each helper below picks the
# twin for the array's dtype (`single`: float32) and casts the data pointers to it, so
# that a binding checks its arguments and then makes one call without the GIL.


cdef inline tg_status gemm_c(bint single, int ta, int tb, int64_t m, int64_t n, int64_t k,
                             double alpha, const void *a, int64_t lda, const void *b,
                             int64_t ldb, double beta, void *c, int64_t ldc) noexcept nogil:
    if single:
        return tg_sgemm(ta, tb, m, n, k, <float>alpha, <const float *>a, lda,
                        <const float *>b, ldb, <float>beta, <float *>c, ldc)
    return tg_dgemm(ta, tb, m, n, k, alpha, <const double *>a, lda, <const double *>b, ldb,
                    beta, <double *>c, ldc)


cdef inline tg_status linear_c(bint single, const void *x, const void *weight,
                               const void *bias, void *out, int64_t rows, int64_t inputs,
                               int64_t outs) noexcept nogil:
    if single:
        return tg_linear_f32(<const float *>x, <const float *>weight, <const float *>bias,
                             <float *>out, rows, inputs, outs)
    return tg_linear_f64(<const double *>x, <const double *>weight, <const double *>bias,
                         <double *>out, rows, inputs, outs)


cdef inline tg_status relu_c(bint single, const void *x, void *out, int64_t rows,
                             int64_t cols, uint8_t *alive) noexcept nogil:
    if single:
        return tg_relu_f32(<const float *>x, <float *>out, rows, cols, alive)
    return tg_relu_f64(<const double *>x, <double *>out, rows, cols, alive)


cdef inline tg_status relu_backward_c(bint single, const void *x, const void *grad_out,
                                      void *grad_x, int64_t n) noexcept nogil:
    if single:
        return tg_relu_backward_f32(<const float *>x, <const float *>grad_out,
                                    <float *>grad_x, n)
    return tg_relu_backward_f64(<const double *>x, <const double *>grad_out,
                                <double *>grad_x, n)


cdef inline tg_status axpy_c(bint single, double alpha, const void *x, void *y,
                             int64_t n) noexcept nogil:
    if single:
        return tg_axpy_f32(<float>alpha, <const float *>x, <float *>y, n)
    return tg_axpy_f64(alpha, <const double *>x, <double *>y, n)


cdef inline tg_status column_sum_c(bint single, const void *x, void *out, int64_t rows,
                                   int64_t cols) noexcept nogil:
    if single:
        return tg_column_sum_f32(<const float *>x, <float *>out, rows, cols)
    return tg_column_sum_f64(<const double *>x, <double *>out, rows, cols)


cdef inline tg_status softmax_xent_c(bint single, const void *logits, const int64_t *target,
                                     void *losses, void *probs, int64_t rows, int64_t classes,
                                     int64_t *bad_row) noexcept nogil:
    if single:
        return tg_softmax_xent_f32(<const float *>logits, target, <float *>losses,
                                   <float *>probs, rows, classes, bad_row)
    return tg_softmax_xent_f64(<const double *>logits, target, <double *>losses,
                               <double *>probs, rows, classes, bad_row)


cdef inline tg_status softmax_xent_backward_c(bint single, const void *probs,
                                              const int64_t *target, const void *grad_loss,
                                              void *grad_logits, int64_t rows,
                                              int64_t classes, int64_t *bad_row) noexcept nogil:
    if single:
        return tg_softmax_xent_backward_f32(<const float *>probs, target,
                                            <const float *>grad_loss, <float *>grad_logits,
                                            rows, classes, bad_row)
    return tg_softmax_xent_backward_f64(<const double *>probs, target,
                                        <const double *>grad_loss, <double *>grad_logits,
                                        rows, classes, bad_row)


cdef inline tg_status im2col_c(bint single, const void *x, void *cols,
                               const tg_window *g) noexcept nogil:
    if single:
        return tg_im2col_f32(<const float *>x, <float *>cols, g)
    return tg_im2col_f64(<const double *>x, <double *>cols, g)


cdef inline tg_status col2im_c(bint single, const void *cols, void *x,
                               const tg_window *g) noexcept nogil:
    if single:
        return tg_col2im_f32(<const float *>cols, <float *>x, g)
    return tg_col2im_f64(<const double *>cols, <double *>x, g)


cdef inline tg_status conv2d_c(bint single, const void *x, const void *weight,
                               const void *bias, void *out, int64_t out_channels,
                               const tg_window *g) noexcept nogil:
    if single:
        return tg_conv2d_f32(<const float *>x, <const float *>weight, <const float *>bias,
                             <float *>out, out_channels, g)
    return tg_conv2d_f64(<const double *>x, <const double *>weight, <const double *>bias,
                         <double *>out, out_channels, g)


cdef inline tg_status conv2d_backward_c(bint single, const void *x, const void *weight,
                                        const void *grad_out, void *grad_x, void *grad_weight,
                                        int64_t out_channels, const tg_window *g) noexcept nogil:
    if single:
        return tg_conv2d_f32_backward(<const float *>x, <const float *>weight,
                                      <const float *>grad_out, <float *>grad_x,
                                      <float *>grad_weight, out_channels, g)
    return tg_conv2d_f64_backward(<const double *>x, <const double *>weight,
                                  <const double *>grad_out, <double *>grad_x,
                                  <double *>grad_weight, out_channels, g)


cdef inline tg_status max_pool2d_c(bint single, const void *x, void *out, int64_t *indices,
                                   const tg_window *g) noexcept nogil:
    if single:
        return tg_max_pool2d_f32(<const float *>x, <float *>out, indices, g)
    return tg_max_pool2d_f64(<const double *>x, <double *>out, indices, g)


cdef inline tg_status max_pool2d_backward_c(bint single, const void *grad_out,
                                            const int64_t *indices, void *grad_x,
                                            const tg_window *g, int64_t *bad) noexcept nogil:
    if single:
        return tg_max_pool2d_backward_f32(<const float *>grad_out, indices, <float *>grad_x,
                                          g, bad)
    return tg_max_pool2d_backward_f64(<const double *>grad_out, indices, <double *>grad_x,
                                      g, bad)


cdef inline tg_status avg_pool2d_c(bint single, const void *x, void *out, const tg_window *g,
                                   int include_pad, int64_t divisor) noexcept nogil:
    if single:
        return tg_avg_pool2d_f32(<const float *>x, <float *>out, g, include_pad, divisor)
    return tg_avg_pool2d_f64(<const double *>x, <double *>out, g, include_pad, divisor)


cdef inline tg_status avg_pool2d_backward_c(bint single, const void *grad_out, void *grad_x,
                                            const tg_window *g, int include_pad,
                                            int64_t divisor) noexcept nogil:
    if single:
        return tg_avg_pool2d_backward_f32(<const float *>grad_out, <float *>grad_x, g,
                                          include_pad, divisor)
    return tg_avg_pool2d_backward_f64(<const double *>grad_out, <double *>grad_x, g,
                                      include_pad, divisor)


# ---- threads --------------------------------------------------------------------------


def set_num_threads(int n):
    """Use at most n threads in the C kernels (1 <= n, checked by kernels.set_num_threads)."""
    tg_set_num_threads(n)


def get_num_threads():
    """The C kernels' thread count."""
    return tg_get_num_threads()


def have_openmp():
    """True if the C core was compiled with OpenMP."""
    return bool(tg_have_openmp())


KERNEL_NAMES = ("avx512", "avx2", "neon", "generic")


def available_kernels():
    """The GEMM microkernels this CPU can run, fastest first (always ends with "generic")."""
    return [name for name in KERNEL_NAMES if tg_kernel_supported(name.encode())]


def set_kernel(name):
    """Use the named GEMM microkernel ("avx512", "avx2", "neon", "generic"); None: the best one."""
    global kernel_choice_problem
    if name is None:
        tg_set_kernel(NULL)
    elif name not in available_kernels():
        raise ValueError(f"set_kernel: name must be one of {available_kernels()} on this CPU "
                         f"(or None for the best), got {name!r}")
    else:
        tg_set_kernel((<str>name).encode())
    kernel_choice_problem = None  # an explicit choice replaces TINYGRAD_EDU_KERNEL's


def get_kernel():
    """The name of the GEMM microkernel in use, e.g. "avx512", "avx2", "neon" or "generic"."""
    return tg_get_kernel().decode()


def kernel_environment_problem():
    """Why TINYGRAD_EDU_KERNEL cannot be honoured (it names no kernel this CPU runs), or None.

    Importing stays quiet; instead every GEMM raises this as a ValueError until the
    variable is fixed or set_kernel() chooses explicitly: a run that asked for one
    code path (CI forcing "generic", say) never silently measures another.
    """
    import os

    name = os.environ.get("TINYGRAD_EDU_KERNEL")
    if name and name not in available_kernels():
        return (f"TINYGRAD_EDU_KERNEL={name!r} names no GEMM kernel this CPU runs; "
                f"use one of {available_kernels()}, unset it, or call "
                f"tinygrad_edu.kernels.set_kernel(None) for the best")
    return None


cdef object kernel_choice_problem = kernel_environment_problem()


cdef inline int check_kernel_choice() except -1:
    if kernel_choice_problem is not None:
        raise ValueError(kernel_choice_problem)
    return 0


# ---- matrix multiply ------------------------------------------------------------------


cdef bint row_major(cnp.npy_intp rows, cnp.npy_intp cols, cnp.npy_intp row_stride,
                    cnp.npy_intp col_stride, cnp.npy_intp item, int64_t *ld):
    """True if element (i, j) lies i * ld + j elements past the first, with ld >= cols.

    (Strides of a dimension of size 0 or 1 are never used, so they do not matter.)
    """
    if cols > 1 and col_stride != item:
        return False
    if rows <= 1 or cols == 0:
        ld[0] = max(cols, 1)
        return True
    if row_stride <= 0 or row_stride % item != 0 or row_stride // item < cols:
        return False
    ld[0] = row_stride // item
    return True


cdef int matrix_operand(ndarray x, bint trans, str kernel, str name, int64_t *ld,
                        bint *trans_stored) except -1:
    """How C reads op(x): its row-major storage's leading dimension and transpose flag.

    Rows may be padded (a slice like x[:, :5] has ld > columns). A Fortran-ordered
    x is x.T stored row-major, so op(x) flips the flag instead of copying:
    x = (x.T)^T. Anything else (negative or element-skipping strides) is refused.
    """
    check_ndim(x, 2, kernel, name)
    if not cnp.PyArray_ISALIGNED(x):
        raise ValueError(f"{kernel}: {name} must be aligned to its element size")
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(x)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(x)
    cdef cnp.npy_intp item = cnp.PyArray_ITEMSIZE(x)
    if row_major(dims[0], dims[1], strides[0], strides[1], item, ld):
        trans_stored[0] = trans
    elif row_major(dims[1], dims[0], strides[1], strides[0], item, ld):
        trans_stored[0] = not trans
    else:
        raise ValueError(f"{kernel}: {name} must have unit stride along its rows or its "
                         f"columns (got strides {(<object>x).strides} for shape {shape(x)}); "
                         f"pass numpy.ascontiguousarray({name})")
    return 0


def matmul(ndarray a not None, ndarray b not None, out=None, bint trans_a=False,
           bint trans_b=False, *, double alpha=1.0, double beta=0.0):
    """out = alpha * op(a) @ op(b) + beta * out, op(x) = x.T if trans_x else x.

    a, b: 2-D float32 or float64 (one dtype), C- or Fortran-ordered (a Fortran
    array is read as the transpose of a C one, without a copy). out: C-ordered,
    shape (rows of op(a), columns of op(b)), overlapping neither input; a new
    array when None (then beta must be 0). 0xK @ KxN is empty, Kx0 @ 0xN is zeros.
    """
    cdef str kernel = "matmul"
    check_kernel_choice()
    cdef int typenum = float_type(a, kernel, "a")
    check_dtype(b, typenum, kernel, "b", a, "a")
    cdef int64_t lda, ldb
    cdef bint ta, tb
    matrix_operand(a, trans_a, kernel, "a", &lda, &ta)
    matrix_operand(b, trans_b, kernel, "b", &ldb, &tb)
    cdef cnp.npy_intp *a_dims = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *b_dims = cnp.PyArray_DIMS(b)
    cdef int64_t m = a_dims[1] if trans_a else a_dims[0]
    cdef int64_t k = a_dims[0] if trans_a else a_dims[1]
    cdef int64_t k_b = b_dims[1] if trans_b else b_dims[0]
    cdef int64_t n = b_dims[0] if trans_b else b_dims[1]
    if k != k_b:
        raise ValueError(f"{kernel}: inner dimensions differ: op(a) has shape {(m, k)} "
                         f"and op(b) has shape {(k_b, n)} (a {shape(a)}, b {shape(b)}, "
                         f"trans_a={bool(trans_a)}, trans_b={bool(trans_b)})")
    if out is None and beta != 0:
        raise ValueError(f"{kernel}: beta={beta} needs an `out` array to add onto")
    cdef cnp.npy_intp dims[2]
    dims[0] = m
    dims[1] = n
    cdef ndarray c = output(out, 2, dims, typenum, kernel, "out")
    check_no_overlap(c, a, kernel, "out", "a")
    check_no_overlap(c, b, kernel, "out", "b")
    cdef int64_t ldc = max(n, 1)
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(c)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = gemm_c(single, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc)
    check_status(status, kernel)
    return c


def linear(ndarray x not None, ndarray weight not None, ndarray bias=None, out=None):
    """out = x @ weight.T + bias, as one GEMM with the bias folded in (beta = 1).

    x: (N, K), weight: (M, K), bias: (M,) or None, out: (N, M); one float dtype,
    all C-contiguous; out overlaps none of the inputs.
    """
    cdef str kernel = "linear"
    check_kernel_choice()
    cdef int typenum = float_type(x, kernel, "x")
    check_dtype(weight, typenum, kernel, "weight", x, "x")
    check_ndim(x, 2, kernel, "x")
    check_ndim(weight, 2, kernel, "weight")
    check_layout(x, kernel, "x", False)
    check_layout(weight, kernel, "weight", False)
    cdef int64_t rows = x.shape[0], inputs = x.shape[1], outs = weight.shape[0]
    if weight.shape[1] != inputs:
        raise ValueError(f"{kernel}: x has shape {shape(x)} but weight has shape "
                         f"{shape(weight)}; weight must be (out_features, {inputs})")
    cdef void *pbias = NULL
    if bias is not None:
        check_dtype(bias, typenum, kernel, "bias", x, "x")
        if cnp.PyArray_NDIM(bias) != 1 or bias.shape[0] != outs:
            raise ValueError(f"{kernel}: bias must have shape {(outs,)} to match weight "
                             f"{shape(weight)}, got {shape(bias)}")
        check_layout(bias, kernel, "bias", False)
        pbias = cnp.PyArray_DATA(bias)
    cdef cnp.npy_intp dims[2]
    dims[0] = rows
    dims[1] = outs
    cdef ndarray y = output(out, 2, dims, typenum, kernel, "out")
    check_no_overlap(y, x, kernel, "out", "x")
    check_no_overlap(y, weight, kernel, "out", "weight")
    if bias is not None:
        check_no_overlap(y, bias, kernel, "out", "bias")
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pw = cnp.PyArray_DATA(weight)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = linear_c(single, px, pw, pbias, py, rows, inputs, outs)
    check_status(status, kernel)
    return y


# ---- elementwise: ReLU ----------------------------------------------------------------


def relu(ndarray x not None, out=None, ndarray alive=None):
    """out = max(x, 0) elementwise (NaN stays NaN), any shape; out may be x itself.

    alive: optional uint8 array with one entry per unit, x being (examples, units...):
    alive[j] is set to 1 for every unit j (entry of one example, flattened) with some
    positive output, in the same pass (entries already 1 stay 1, so batches
    accumulate). A unit whose entry stays 0 output 0 for every example: a dead ReLU.
    """
    cdef str kernel = "relu"
    cdef int typenum = float_type(x, kernel, "x")
    check_layout(x, kernel, "x", False)
    cdef ndarray y = output(out, cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), typenum, kernel,
                            "out")
    check_same_or_no_overlap(y, x, kernel, "out", "x")
    cdef int64_t rows = 1, cols = cnp.PyArray_SIZE(x)
    cdef uint8_t *palive = NULL
    if alive is not None:
        if cnp.PyArray_NDIM(x) < 2:
            raise ValueError(f"{kernel}: alive needs a 2-D x (examples, units) or N-D "
                             f"(examples, ...), got shape {shape(x)}")
        rows = x.shape[0]
        cols = math.prod(shape(x)[1:])  # x is C-contiguous: a rows x cols matrix
        if cnp.PyArray_TYPE(alive) != cnp.NPY_UINT8:
            raise TypeError(f"{kernel}: alive must have dtype uint8, got {alive.dtype}")
        if cnp.PyArray_NDIM(alive) != 1 or alive.shape[0] != cols:
            raise ValueError(f"{kernel}: alive must have shape {(cols,)} for x of shape "
                             f"{shape(x)}, got {shape(alive)}")
        check_layout(alive, kernel, "alive", True)
        check_no_overlap(alive, x, kernel, "alive", "x")
        check_no_overlap(alive, y, kernel, "alive", "out")
        palive = <uint8_t *>cnp.PyArray_DATA(alive)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = relu_c(single, px, py, rows, cols, palive)
    check_status(status, kernel)
    return y


def relu_backward(ndarray x not None, ndarray grad_out not None, out=None):
    """out = 0 where x <= 0, else grad_out (ReLU'(0) = 0; NaN x passes grad, as PyTorch); any shape.

    x and grad_out share one shape and dtype; out may be x or grad_out itself.
    """
    cdef str kernel = "relu_backward"
    cdef int typenum = float_type(x, kernel, "x")
    check_dtype(grad_out, typenum, kernel, "grad_out", x, "x")
    if not cnp.PyArray_SAMESHAPE(x, grad_out):
        raise ValueError(f"{kernel}: x has shape {shape(x)} but grad_out has shape "
                         f"{shape(grad_out)}; they must match")
    check_layout(x, kernel, "x", False)
    check_layout(grad_out, kernel, "grad_out", False)
    cdef ndarray y = output(out, cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), typenum, kernel,
                            "out")
    check_same_or_no_overlap(y, x, kernel, "out", "x")
    check_same_or_no_overlap(y, grad_out, kernel, "out", "grad_out")
    cdef int64_t n = cnp.PyArray_SIZE(x)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pg = cnp.PyArray_DATA(grad_out)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = relu_backward_c(single, px, pg, py, n)
    check_status(status, kernel)
    return y


# ---- the optimizer's step -----------------------------------------------------------------


def axpy(double alpha, ndarray x not None, ndarray y not None):
    """y += alpha * x in place, one pass (SGD's w -= lr * g is axpy(-lr, g, w)); returns y.

    x and y share one shape and dtype (float32 or float64); y must be writable and
    must not overlap x.
    """
    cdef str kernel = "axpy"
    cdef int typenum = float_type(x, kernel, "x")
    check_dtype(y, typenum, kernel, "y", x, "x")
    if not cnp.PyArray_SAMESHAPE(x, y):
        raise ValueError(f"{kernel}: x has shape {shape(x)} but y has shape {shape(y)}; "
                         f"they must match")
    check_layout(x, kernel, "x", False)
    check_layout(y, kernel, "y", True)
    check_no_overlap(y, x, kernel, "y", "x")
    cdef int64_t n = cnp.PyArray_SIZE(x)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = axpy_c(single, alpha, px, py, n)
    check_status(status, kernel)
    return y


# ---- reductions: bias gradient ---------------------------------------------------------


def column_sum(ndarray x not None, out=None):
    """out[j] = sum_i x[i, j]: (N, M) -> (M,), rows added in a fixed order.

    The gradient of a bias broadcast over a batch; the same result bit for bit
    whatever the thread count.
    """
    cdef str kernel = "column_sum"
    cdef int typenum = float_type(x, kernel, "x")
    check_ndim(x, 2, kernel, "x")
    check_layout(x, kernel, "x", False)
    cdef ndarray y = output(out, 1, cnp.PyArray_DIMS(x) + 1, typenum, kernel, "out")
    check_no_overlap(y, x, kernel, "out", "x")
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *py = cnp.PyArray_DATA(y)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = column_sum_c(single, px, py, rows, cols)
    check_status(status, kernel)
    return y


# ---- softmax cross-entropy ---------------------------------------------------------------


cdef int check_target(ndarray target, int64_t rows, str kernel) except -1:
    if cnp.PyArray_TYPE(target) != cnp.NPY_INT64 or not cnp.PyArray_ISNOTSWAPPED(target):
        raise TypeError(f"{kernel}: target must have dtype int64 (class indices), "
                        f"got {target.dtype}")
    if cnp.PyArray_NDIM(target) != 1 or target.shape[0] != rows:
        raise ValueError(f"{kernel}: target must have shape {(rows,)} (one class per row), "
                         f"got {shape(target)}")
    check_layout(target, kernel, "target", False)
    return 0


cdef ndarray private_copy(ndarray target):
    """A copy of target that only this call holds.

    C checks the classes, then reads them again per row with the GIL released; a
    Python thread could rewrite the user's array in between, so C reads this copy
    (checked and used as the same values) and never the user's memory.
    """
    cdef ndarray copy = <ndarray>cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(target), cnp.NPY_INT64, 0)
    # (check_target made target 1-D, C-contiguous int64; memcpy costs a fifth of NewCopy)
    memcpy(cnp.PyArray_DATA(copy), cnp.PyArray_DATA(target), cnp.PyArray_NBYTES(target))
    return copy


cdef int check_target_status(tg_status status, int64_t bad_row, ndarray target,
                             int64_t classes, str kernel) except -1:
    if status == TG_ERR_INDEX:
        value = (<int64_t *>cnp.PyArray_DATA(target))[bad_row]
        raise ValueError(f"{kernel}: target[{bad_row}] = {value} is not a class index in "
                         f"[0, {classes})")
    return check_status(status, kernel)


def softmax_cross_entropy(ndarray logits not None, ndarray target not None,
                          probs_out=None):
    """(losses, probs) for logits (N, C) and integer class targets (N,).

    losses[i] = logsumexp(logits[i]) - logits[i, target[i]]   (shape (N,))
    probs[i, j] = exp(logits[i, j] - logsumexp(logits[i]))    (shape (N, C))
    Stable for huge logits (the row maximum is subtracted first). probs_out may
    be logits itself. A target outside [0, C) raises ValueError naming its row.
    """
    cdef str kernel = "softmax_cross_entropy"
    cdef int typenum = float_type(logits, kernel, "logits")
    check_ndim(logits, 2, kernel, "logits")
    check_layout(logits, kernel, "logits", False)
    cdef int64_t rows = logits.shape[0], classes = logits.shape[1]
    check_target(target, rows, kernel)
    cdef ndarray probs = output(probs_out, 2, cnp.PyArray_DIMS(logits), typenum, kernel,
                                "probs_out")
    check_same_or_no_overlap(probs, logits, kernel, "probs_out", "logits")
    check_no_overlap(probs, target, kernel, "probs_out", "target")
    cdef ndarray losses = <ndarray>cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(logits), typenum, 0)
    cdef ndarray classes_of_rows = private_copy(target)
    cdef void *pz = cnp.PyArray_DATA(logits)
    cdef const int64_t *pt = <const int64_t *>cnp.PyArray_DATA(classes_of_rows)
    cdef void *pl = cnp.PyArray_DATA(losses)
    cdef void *pp = cnp.PyArray_DATA(probs)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef int64_t bad_row = -1
    cdef tg_status status
    with nogil:
        status = softmax_xent_c(single, pz, pt, pl, pp, rows, classes, &bad_row)
    check_target_status(status, bad_row, classes_of_rows, classes, kernel)
    return losses, probs


def softmax_cross_entropy_backward(ndarray probs not None, ndarray target not None,
                                   ndarray grad_loss not None, out=None):
    """grad_logits[i, j] = grad_loss[i] * (probs[i, j] - [j == target[i]]).

    probs: (N, C) from softmax_cross_entropy, target: (N,) int64, grad_loss: (N,)
    of probs' dtype; out: (N, C), may be probs itself.
    """
    cdef str kernel = "softmax_cross_entropy_backward"
    cdef int typenum = float_type(probs, kernel, "probs")
    check_dtype(grad_loss, typenum, kernel, "grad_loss", probs, "probs")
    check_ndim(probs, 2, kernel, "probs")
    check_layout(probs, kernel, "probs", False)
    cdef int64_t rows = probs.shape[0], classes = probs.shape[1]
    check_target(target, rows, kernel)
    if cnp.PyArray_NDIM(grad_loss) != 1 or grad_loss.shape[0] != rows:
        raise ValueError(f"{kernel}: grad_loss must have shape {(rows,)} for probs of shape "
                         f"{shape(probs)}, got {shape(grad_loss)}")
    check_layout(grad_loss, kernel, "grad_loss", False)
    cdef ndarray grad = output(out, 2, cnp.PyArray_DIMS(probs), typenum, kernel, "out")
    check_same_or_no_overlap(grad, probs, kernel, "out", "probs")
    check_no_overlap(grad, target, kernel, "out", "target")
    check_no_overlap(grad, grad_loss, kernel, "out", "grad_loss")
    cdef ndarray classes_of_rows = private_copy(target)
    cdef void *pp = cnp.PyArray_DATA(probs)
    cdef const int64_t *pt = <const int64_t *>cnp.PyArray_DATA(classes_of_rows)
    cdef void *pgl = cnp.PyArray_DATA(grad_loss)
    cdef void *pg = cnp.PyArray_DATA(grad)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef int64_t bad_row = -1
    cdef tg_status status
    with nogil:
        status = softmax_xent_backward_c(single, pp, pt, pgl, pg, rows, classes, &bad_row)
    check_target_status(status, bad_row, classes_of_rows, classes, kernel)
    return grad


# ---- cache sizes and GEMM block sizes (csrc/cache.c) --------------------------------

CACHE_LEVELS = ("l1d", "l2", "l3")


cdef dict level_dict(tg_cache_level level):
    return {"size": level.size, "ways": level.ways, "line": level.line}


def cache_sizes():
    """The data caches the GEMM's block sizes come from, as the CPU reports them.

    {"l1d"|"l2"|"l3": {"size": bytes, "ways": associativity, "line": bytes},
     "source": "cpuid", "sysfs" or "default" (nothing reported: common sizes assumed)}
    """
    cdef tg_cache_info caches = tg_cache_sizes()
    return {"l1d": level_dict(caches.l1d), "l2": level_dict(caches.l2),
            "l3": level_dict(caches.l3), "source": caches.source.decode()}


cdef int64_t positive(object value, str name) except -1:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"blocking_rule: {name} must be a positive integer, got {value!r}")
    return value


cdef tg_cache_level cache_level(object spec, str name) except *:
    """A (size, ways, line) tuple, or a cache_sizes() entry, as a tg_cache_level."""
    if isinstance(spec, dict):
        spec = (spec.get("size"), spec.get("ways"), spec.get("line"))
    if not isinstance(spec, (tuple, list)) or len(spec) != 3:
        raise ValueError(f"blocking_rule: {name} must be (size bytes, ways, line bytes), got {spec!r}")
    cdef tg_cache_level level
    level.size = positive(spec[0], f"{name} size")
    level.ways = positive(spec[1], f"{name} ways")
    level.line = positive(spec[2], f"{name} line")
    if level.size % (level.ways * level.line) != 0:
        raise ValueError(f"blocking_rule: {name} size {level.size} is not a whole number of "
                         f"sets of {level.ways} ways x {level.line} bytes")
    return level


def blocking_rule(mr, nr, element_size, l1d, l2, l3):
    """Block sizes {"mc", "kc", "nc"} for an mr x nr microkernel on elements of
    element_size bytes, from caches given as (size bytes, ways, line bytes):
    BLIS's analytical model (csrc/cache.c, docs/gemm.md), a pure function."""
    cdef tg_cache_info caches
    caches.l1d = cache_level(l1d, "l1d")
    caches.l2 = cache_level(l2, "l2")
    caches.l3 = cache_level(l3, "l3")
    caches.source = NULL
    cdef tg_block_sizes sizes = tg_blocking_rule(&caches, positive(mr, "mr"), positive(nr, "nr"),
                                                 positive(element_size, "element_size"))
    return {"mc": sizes.mc, "kc": sizes.kc, "nc": sizes.nc}


def gemm_blocking(dtype=np.float32):
    """The selected microkernel's tile and block sizes for float32 or float64:
    {"kernel", "dtype", "mr", "nr", "mc", "kc", "nc"} (the caches' rule unless the kernel fixes them)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"gemm_blocking: dtype must be float32 or float64, got {dtype}")
    cdef int64_t mr = 0, nr = 0
    cdef tg_block_sizes sizes
    tg_gemm_blocking(dtype.itemsize, &mr, &nr, &sizes)
    return {"kernel": get_kernel(), "dtype": dtype.name, "mr": mr, "nr": nr,
            "mc": sizes.mc, "kc": sizes.kc, "nc": sizes.nc}

# ---- convolution and pooling windows (csrc/conv.c, csrc/pool.c) -----------------------------
# Python computes every size (output size, padding, ceil_mode) here and hands C a complete
# tg_window; C reads only inside the image, so no argument can make it read out of bounds.

LARGEST_WINDOW_ARGUMENT = 2**31 - 1  # keeps every index product far inside int64
LARGEST_ARRAY = 2**60  # elements; numpy could not allocate more anyway


def _window_pair(value, str kernel, str name, int minimum):
    """An int or a pair of ints (height, width), each in [minimum, 2**31): a (h, w) tuple."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{kernel}: {name} must be an int or a pair of ints, got {value!r}")
    if len(pair) != 2:
        raise ValueError(f"{kernel}: {name} must be an int or a pair of ints, got {value!r}")
    if not all(minimum <= v <= LARGEST_WINDOW_ARGUMENT for v in pair):
        raise ValueError(f"{kernel}: {name} must be >= {minimum} (and < 2**31), got {value!r}")
    return int(pair[0]), int(pair[1])


def _window_padding(value, str kernel):
    """Padding as ((top, bottom), (left, right)) from an int, a pair (h, w) or two pairs."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and \
            all(isinstance(v, (tuple, list)) for v in value):
        return (_window_pair(value[0], kernel, "padding", 0),
                _window_pair(value[1], kernel, "padding", 0))
    pad_h, pad_w = _window_pair(value, kernel, "padding", 0)
    return (pad_h, pad_h), (pad_w, pad_w)


def _image_shape(shape_value, str kernel, str name):
    """A 4-tuple (N, C, H, W) of ints >= 0."""
    try:
        dims = tuple(int(d) for d in shape_value)
    except TypeError:
        raise TypeError(f"{kernel}: {name} must be a shape (N, C, H, W), got {shape_value!r}")
    if len(dims) != 4 or min(dims) < 0:
        raise ValueError(f"{kernel}: {name} must be a shape (N, C, H, W) of sizes >= 0, "
                         f"got {shape_value!r}")
    return dims


cdef int check_image(ndarray x, int typenum, str kernel, str name) except -1:
    check_ndim(x, 4, kernel, name)
    check_layout(x, kernel, name, False)
    return 0


def conv_output_size(int64_t size, int kernel_size, int stride, int pad_before, int pad_after,
                     int dilation):
    """Outputs of a convolution along one axis: ⌊(size + pads - dilation·(kernel-1) - 1) / stride⌋ + 1
    (<= 0 when the dilated kernel is larger than the padded input)."""
    span = size + pad_before + pad_after - dilation * (kernel_size - 1) - 1
    return span // stride + 1 if span >= 0 else 0


def pool_output_size(int64_t size, int kernel_size, int stride, int padding, int dilation,
                     bint ceil_mode):
    """Outputs of a pooling along one axis, as PyTorch: the convolution's count, rounded up
    with ceil_mode, but never a last window that starts in the right padding."""
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if span < 0:
        return 0
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


cdef tg_window make_window(tuple dims, tuple kernel_size, tuple stride, tuple padding,
                           tuple dilation, int64_t out_h, int64_t out_w):
    cdef tg_window g
    g.batch, g.channels, g.height, g.width = dims
    g.kernel_h, g.kernel_w = kernel_size
    g.stride_h, g.stride_w = stride
    g.pad_h, g.pad_w = padding
    g.dilation_h, g.dilation_w = dilation
    g.out_h, g.out_w = out_h, out_w
    return g


def _check_count(count, str kernel, str what):
    if count > LARGEST_ARRAY:
        raise ValueError(f"{kernel}: {what} would have {count} elements; that is too many "
                         f"(check the padding, kernel_size and dilation)")


def _conv_window(dims, kernel_size, stride, padding, dilation, str kernel):
    """(kernel, stride, (top, left) padding, dilation, out_h, out_w), all checked."""
    kernel_hw = _window_pair(kernel_size, kernel, "kernel_size", 1)
    stride_hw = _window_pair(stride, kernel, "stride", 1)
    dilation_hw = _window_pair(dilation, kernel, "dilation", 1)
    (top, bottom), (left, right) = _window_padding(padding, kernel)
    out_h = conv_output_size(dims[2], kernel_hw[0], stride_hw[0], top, bottom, dilation_hw[0])
    out_w = conv_output_size(dims[3], kernel_hw[1], stride_hw[1], left, right, dilation_hw[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"{kernel}: kernel_size {kernel_hw} (dilation {dilation_hw}) is larger than the "
            f"padded input: {dims[2]}x{dims[3]} padded by {((top, bottom), (left, right))}")
    _check_count(dims[0] * dims[1] * kernel_hw[0] * kernel_hw[1] * out_h * out_w, kernel,
                 "the columns")
    return kernel_hw, stride_hw, (top, left), dilation_hw, out_h, out_w


def im2col(ndarray x not None, kernel_size, stride=1, padding=0, dilation=1, out=None):
    """cols[(c, i, j), (n, oh, ow)] = x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw] (0 in the padding).

    x: (N, C, H, W) float32/float64, C-contiguous. kernel_size, stride, dilation: int or
    (h, w); padding: int, (h, w) or ((top, bottom), (left, right)). Returns cols of shape
    (C·KH·KW, N·OH·OW): then conv2d(x, w) = w.reshape(OC, -1) @ cols, one GEMM.
    """
    cdef str kernel = "im2col"
    cdef int typenum = float_type(x, kernel, "x")
    check_image(x, typenum, kernel, "x")
    dims = shape(x)
    kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w = _conv_window(
        dims, kernel_size, stride, padding, dilation, kernel)
    cdef cnp.npy_intp col_dims[2]
    col_dims[0] = dims[1] * kernel_hw[0] * kernel_hw[1]
    col_dims[1] = dims[0] * out_h * out_w
    cdef ndarray cols = output(out, 2, col_dims, typenum, kernel, "out")
    check_no_overlap(cols, x, kernel, "out", "x")
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pc = cnp.PyArray_DATA(cols)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = im2col_c(single, px, pc, &g)
    check_status(status, kernel)
    return cols


def col2im(ndarray cols not None, input_shape, kernel_size, stride=1, padding=0, dilation=1,
           out=None):
    """x[n, c, h, w] = Σ of every entry of cols that im2col read from (h, w): im2col's transpose.

    cols: (C·KH·KW, N·OH·OW) as im2col makes for an input of shape input_shape
    (N, C, H, W) with the same window arguments; returns x of shape input_shape.
    This is the gradient of im2col: ⟨im2col(x), cols⟩ = ⟨x, col2im(cols)⟩.
    """
    cdef str kernel = "col2im"
    cdef int typenum = float_type(cols, kernel, "cols")
    check_ndim(cols, 2, kernel, "cols")
    check_layout(cols, kernel, "cols", False)
    dims = _image_shape(input_shape, kernel, "input_shape")
    kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w = _conv_window(
        dims, kernel_size, stride, padding, dilation, kernel)
    expected = (dims[1] * kernel_hw[0] * kernel_hw[1], dims[0] * out_h * out_w)
    if shape(cols) != expected:
        raise ValueError(f"{kernel}: cols must have shape {expected} for input_shape {dims} "
                         f"and these window arguments, got {shape(cols)}")
    cdef cnp.npy_intp x_dims[4]
    for d in range(4):
        x_dims[d] = dims[d]
    cdef ndarray x = output(out, 4, x_dims, typenum, kernel, "out")
    check_no_overlap(x, cols, kernel, "out", "cols")
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w)
    cdef void *pc = cnp.PyArray_DATA(cols)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = col2im_c(single, pc, px, &g)
    check_status(status, kernel)
    return x


cdef tuple _conv_operands(ndarray x, ndarray weight, str kernel):
    """(typenum, image dims) after checking x (N, C, H, W) and weight (OC, C, KH, KW):
    the same dtype, C-contiguous, channels that match (groups are not fused)."""
    cdef int typenum = float_type(x, kernel, "x")
    check_image(x, typenum, kernel, "x")
    check_dtype(weight, typenum, kernel, "weight", x, "x")
    check_ndim(weight, 4, kernel, "weight")
    check_layout(weight, kernel, "weight", False)
    if shape(weight)[1] != shape(x)[1]:
        raise ValueError(f"{kernel}: weight {shape(weight)} must have x's {shape(x)[1]} input "
                         f"channels on axis 1 (x {shape(x)})")
    return typenum, shape(x)


def conv2d(ndarray x not None, ndarray weight not None, bias=None, stride=1, padding=0,
           dilation=1):
    """out[n, o, oh, ow] = bias[o] + Σ_{c,i,j} weight[o, c, i, j] · x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw].

    Image by image: out[n] = W₂ @ im2col(x[n]) + bias with W₂ = weight as (OC, C·KH·KW),
    while image n's columns are in cache. x (N, C, H, W), weight (OC, C, KH, KW), bias
    (OC,) or None: one float dtype, C-contiguous. Returns out (N, OC, OH, OW).
    """
    cdef str kernel = "conv2d"
    typenum, dims = _conv_operands(x, weight, kernel)
    kernel_size = shape(weight)[2:]
    kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w = _conv_window(
        dims, kernel_size, stride, padding, dilation, kernel)
    cdef int64_t out_channels = shape(weight)[0]
    cdef ndarray b
    cdef const void *pb = NULL
    if bias is not None:
        if not isinstance(bias, np.ndarray):
            raise TypeError(f"{kernel}: bias must be a numpy.ndarray or None, "
                            f"got {type(bias).__name__}")
        b = <ndarray>bias
        check_dtype(b, typenum, kernel, "bias", x, "x")
        check_layout(b, kernel, "bias", False)
        if shape(b) != (out_channels,):
            raise ValueError(f"{kernel}: bias must have shape ({out_channels},), got {shape(b)}")
        pb = cnp.PyArray_DATA(b)
    cdef cnp.npy_intp out_dims[4]
    out_dims[0], out_dims[1], out_dims[2], out_dims[3] = dims[0], out_channels, out_h, out_w
    cdef ndarray out = <ndarray>cnp.PyArray_EMPTY(4, out_dims, typenum, 0)
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w)
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef const void *pw = cnp.PyArray_DATA(weight)
    cdef void *po = cnp.PyArray_DATA(out)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = conv2d_c(single, px, pw, pb, po, out_channels, &g)
    check_status(status, kernel)
    return out


def conv2d_backward(ndarray x not None, ndarray weight not None, ndarray grad_out not None,
                    stride=1, padding=0, dilation=1, bint input_grad=True,
                    bint weight_grad=True):
    """(grad_x, grad_weight) of conv2d for the gradient grad_out (N, OC, OH, OW) of its output:

        grad_weight = Σ_n grad_out[n] @ im2col(x[n])ᵀ     grad_x[n] = col2im(W₂ᵀ @ grad_out[n])

    image by image. Either is None when not asked for (input_grad, weight_grad); the bias's
    gradient is grad_out summed over (N, OH, OW), left to numpy. The result is the same for
    any thread count.
    """
    cdef str kernel = "conv2d_backward"
    typenum, dims = _conv_operands(x, weight, kernel)
    kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w = _conv_window(
        dims, shape(weight)[2:], stride, padding, dilation, kernel)
    cdef int64_t out_channels = shape(weight)[0]
    check_dtype(grad_out, typenum, kernel, "grad_out", x, "x")
    check_layout(grad_out, kernel, "grad_out", False)
    expected = (dims[0], out_channels, out_h, out_w)
    if shape(grad_out) != expected:
        raise ValueError(f"{kernel}: grad_out must have the output's shape {expected}, "
                         f"got {shape(grad_out)}")
    cdef ndarray grad_x = None, grad_weight = None
    cdef void *pgx = NULL
    cdef void *pgw = NULL
    if input_grad:
        grad_x = np.empty(dims, dtype=x.dtype)
        pgx = cnp.PyArray_DATA(grad_x)
    if weight_grad:
        grad_weight = np.empty(shape(weight), dtype=x.dtype)
        pgw = cnp.PyArray_DATA(grad_weight)
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, pad_hw, dilation_hw, out_h, out_w)
    cdef const void *px = cnp.PyArray_DATA(x)
    cdef const void *pw = cnp.PyArray_DATA(weight)
    cdef const void *pg = cnp.PyArray_DATA(grad_out)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = conv2d_backward_c(single, px, pw, pg, pgx, pgw, out_channels, &g)
    check_status(status, kernel)
    return grad_x, grad_weight


def _pool_window(dims, kernel_size, stride, padding, dilation, bint ceil_mode, str kernel):
    """(kernel, stride, padding, dilation, out_h, out_w) of a pooling, checked as PyTorch."""
    kernel_hw = _window_pair(kernel_size, kernel, "kernel_size", 1)
    stride_hw = kernel_hw if stride is None or (isinstance(stride, (tuple, list))
                                                and len(stride) == 0) else \
        _window_pair(stride, kernel, "stride", 1)
    padding_hw = _window_pair(padding, kernel, "padding", 0)
    dilation_hw = _window_pair(dilation, kernel, "dilation", 1)
    if padding_hw[0] > kernel_hw[0] // 2 or padding_hw[1] > kernel_hw[1] // 2:
        raise ValueError(f"{kernel}: padding {padding_hw} must be at most half of "
                         f"kernel_size {kernel_hw}")
    out_h = pool_output_size(dims[2], kernel_hw[0], stride_hw[0], padding_hw[0],
                             dilation_hw[0], ceil_mode)
    out_w = pool_output_size(dims[3], kernel_hw[1], stride_hw[1], padding_hw[1],
                             dilation_hw[1], ceil_mode)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{kernel}: kernel_size {kernel_hw} (dilation {dilation_hw}) is "
                         f"larger than the padded input {dims[2]}x{dims[3]} (padding "
                         f"{padding_hw}): the output would be {out_h}x{out_w}")
    _check_count(dims[0] * dims[1] * out_h * out_w, kernel, "the output")
    return kernel_hw, stride_hw, padding_hw, dilation_hw, out_h, out_w


def max_pool2d(ndarray x not None, kernel_size, stride=None, padding=0, dilation=1,
               bint ceil_mode=False):
    """(out, indices): out[n, c, oh, ow] = max of x over window (oh, ow), indices = h·W + w of it.

    x: (N, C, H, W) float32/float64, C-contiguous; stride defaults to kernel_size;
    padding (at most half the kernel) never wins; NaN wins; the first maximum wins ties.
    indices: int64, as PyTorch's return_indices (flat within each (n, c) plane).
    """
    cdef str kernel = "max_pool2d"
    cdef int typenum = float_type(x, kernel, "x")
    check_image(x, typenum, kernel, "x")
    dims = shape(x)
    kernel_hw, stride_hw, padding_hw, dilation_hw, out_h, out_w = _pool_window(
        dims, kernel_size, stride, padding, dilation, ceil_mode, kernel)
    cdef cnp.npy_intp out_dims[4]
    out_dims[0], out_dims[1], out_dims[2], out_dims[3] = dims[0], dims[1], out_h, out_w
    cdef ndarray out = <ndarray>cnp.PyArray_EMPTY(4, out_dims, typenum, 0)
    cdef ndarray indices = <ndarray>cnp.PyArray_EMPTY(4, out_dims, cnp.NPY_INT64, 0)
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, padding_hw, dilation_hw, out_h,
                                   out_w)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *po = cnp.PyArray_DATA(out)
    cdef int64_t *pi = <int64_t *>cnp.PyArray_DATA(indices)
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = max_pool2d_c(single, px, po, pi, &g)
    check_status(status, kernel)
    return out, indices


def max_pool2d_backward(ndarray grad_out not None, ndarray indices not None, input_shape):
    """grad_x[n, c, indices[n, c, k]] += grad_out[n, c, k]: the max's gradient, a scatter.

    grad_out: (N, C, OH, OW) float32/float64; indices: int64 of the same shape, from
    max_pool2d on an input of shape input_shape (N, C, H, W). An index outside
    [-1, H·W) raises ValueError naming its position.
    """
    cdef str kernel = "max_pool2d_backward"
    cdef int typenum = float_type(grad_out, kernel, "grad_out")
    check_image(grad_out, typenum, kernel, "grad_out")
    if cnp.PyArray_TYPE(indices) != cnp.NPY_INT64 or not cnp.PyArray_ISNOTSWAPPED(indices):
        raise TypeError(f"{kernel}: indices must have dtype int64, got {indices.dtype}")
    if shape(indices) != shape(grad_out):
        raise ValueError(f"{kernel}: indices must have grad_out's shape {shape(grad_out)}, "
                         f"got {shape(indices)}")
    check_layout(indices, kernel, "indices", False)
    dims = _image_shape(input_shape, kernel, "input_shape")
    if dims[:2] != shape(grad_out)[:2]:
        raise ValueError(f"{kernel}: input_shape {dims} and grad_out {shape(grad_out)} must "
                         f"agree on (N, C)")
    cdef cnp.npy_intp x_dims[4]
    for d in range(4):
        x_dims[d] = dims[d]
    cdef ndarray grad_x = <ndarray>cnp.PyArray_EMPTY(4, x_dims, typenum, 0)
    cdef tg_window g = make_window(dims, (1, 1), (1, 1), (0, 0), (1, 1), grad_out.shape[2],
                                   grad_out.shape[3])
    cdef void *pg = cnp.PyArray_DATA(grad_out)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(indices)
    cdef void *px = cnp.PyArray_DATA(grad_x)
    cdef int64_t bad = -1
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = max_pool2d_backward_c(single, pg, pi, px, &g, &bad)
    if status == TG_ERR_INDEX:
        position = np.unravel_index(bad, shape(indices))
        raise ValueError(f"{kernel}: indices[{', '.join(map(str, position))}] = "
                         f"{pi[bad]} is not a position in an {dims[2]}x{dims[3]} plane")
    check_status(status, kernel)
    return grad_x


def _divisor(divisor_override, str kernel):
    if divisor_override is None:
        return 0
    if not isinstance(divisor_override, (int, np.integer)) or isinstance(divisor_override, bool) \
            or not 1 <= divisor_override <= LARGEST_WINDOW_ARGUMENT:
        raise ValueError(f"{kernel}: divisor_override must be None or an int >= 1, "
                         f"got {divisor_override!r}")
    return int(divisor_override)


def avg_pool2d(ndarray x not None, kernel_size, stride=None, padding=0, bint ceil_mode=False,
               bint count_include_pad=True, divisor_override=None):
    """out[n, c, oh, ow] = Σ of x over window (oh, ow) / divisor, as PyTorch's avg_pool2d.

    divisor: divisor_override, else the window's size with the padding (count_include_pad)
    or without it. x: (N, C, H, W) float32/float64, C-contiguous.
    """
    cdef str kernel = "avg_pool2d"
    cdef int typenum = float_type(x, kernel, "x")
    check_image(x, typenum, kernel, "x")
    dims = shape(x)
    cdef int64_t divisor = _divisor(divisor_override, kernel)
    kernel_hw, stride_hw, padding_hw, dilation_hw, out_h, out_w = _pool_window(
        dims, kernel_size, stride, padding, 1, ceil_mode, kernel)
    cdef cnp.npy_intp out_dims[4]
    out_dims[0], out_dims[1], out_dims[2], out_dims[3] = dims[0], dims[1], out_h, out_w
    cdef ndarray out = <ndarray>cnp.PyArray_EMPTY(4, out_dims, typenum, 0)
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, padding_hw, dilation_hw, out_h,
                                   out_w)
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *po = cnp.PyArray_DATA(out)
    cdef int include_pad = count_include_pad
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = avg_pool2d_c(single, px, po, &g, include_pad, divisor)
    check_status(status, kernel)
    return out


def avg_pool2d_backward(ndarray grad_out not None, input_shape, kernel_size, stride=None,
                        padding=0, bint ceil_mode=False, bint count_include_pad=True,
                        divisor_override=None):
    """grad_x[n, c, h, w] = Σ over the windows holding (h, w) of grad_out / divisor.

    The same window arguments as the avg_pool2d call on an input of shape input_shape;
    grad_out must have that call's output shape.
    """
    cdef str kernel = "avg_pool2d_backward"
    cdef int typenum = float_type(grad_out, kernel, "grad_out")
    check_image(grad_out, typenum, kernel, "grad_out")
    dims = _image_shape(input_shape, kernel, "input_shape")
    cdef int64_t divisor = _divisor(divisor_override, kernel)
    kernel_hw, stride_hw, padding_hw, dilation_hw, out_h, out_w = _pool_window(
        dims, kernel_size, stride, padding, 1, ceil_mode, kernel)
    expected = (dims[0], dims[1], out_h, out_w)
    if shape(grad_out) != expected:
        raise ValueError(f"{kernel}: grad_out must have shape {expected} for input_shape "
                         f"{dims}, got {shape(grad_out)}")
    cdef cnp.npy_intp x_dims[4]
    for d in range(4):
        x_dims[d] = dims[d]
    cdef ndarray grad_x = <ndarray>cnp.PyArray_EMPTY(4, x_dims, typenum, 0)
    cdef tg_window g = make_window(dims, kernel_hw, stride_hw, padding_hw, dilation_hw, out_h,
                                   out_w)
    cdef void *pg = cnp.PyArray_DATA(grad_out)
    cdef void *px = cnp.PyArray_DATA(grad_x)
    cdef int include_pad = count_include_pad
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef tg_status status
    with nogil:
        status = avg_pool2d_backward_c(single, pg, px, &g, include_pad, divisor)
    check_status(status, kernel)
    return grad_x
