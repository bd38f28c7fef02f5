# cython: language_level=3
"""Cython bindings of the C core: check, release the GIL, call C, map the status.

Every function here is safe whatever Python passes: the arrays' dtype,
contiguity and sizes are checked before any pointer reaches C. The friendlier
public face (allocation of `out`, docstrings) is tinygrad_edu/kernels.py.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

cnp.import_array()


cdef int check_status(tg_status status, str kernel) except -1:
    """Turn a C status code into the Python exception that explains it."""
    if status == TG_OK:
        return 0
    if status == TG_ERR_NOMEM:
        raise MemoryError(f"{kernel}: could not allocate a work buffer")
    raise ValueError(f"{kernel}: invalid size or leading dimension (status {<int>status})")


cdef int check_array(cnp.ndarray array, str name, object dtype, bint writable) except -1:
    """Raise unless `array` is C-contiguous, aligned, of `dtype` and (if asked) writable."""
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {array.dtype}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(array) or not cnp.PyArray_ISALIGNED(array):
        raise ValueError(f"{name} must be C-contiguous and aligned")
    if writable and not cnp.PyArray_ISWRITEABLE(array):
        raise ValueError(f"{name} must be writable")
    return 0


def set_num_threads(int n):
    tg_set_num_threads(n)


def get_num_threads():
    return tg_get_num_threads()


def have_openmp():
    return bool(tg_have_openmp())


def gemm(cnp.ndarray a, cnp.ndarray b, cnp.ndarray out, bint trans_a, bint trans_b,
         double alpha=1.0, double beta=0.0):
    """out = alpha * op(a) @ op(b) + beta * out for 2-D C-contiguous float32/float64 arrays."""
    dtype = a.dtype
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError(f"a must be float32 or float64, got {dtype}")
    check_array(a, "a", dtype, False)
    check_array(b, "b", dtype, False)
    check_array(out, "out", dtype, True)
    if a.ndim != 2 or b.ndim != 2 or out.ndim != 2:
        raise ValueError(f"a, b and out must be 2-D, got shapes {np.shape(a)}, {np.shape(b)}, {np.shape(out)}")
    cdef int64_t m = a.shape[1] if trans_a else a.shape[0]
    cdef int64_t k = a.shape[0] if trans_a else a.shape[1]
    cdef int64_t k_b = b.shape[1] if trans_b else b.shape[0]
    cdef int64_t n = b.shape[0] if trans_b else b.shape[1]
    if k != k_b:
        raise ValueError(f"inner dimensions differ: op(a) is {(m, k)}, op(b) is {(k_b, n)}")
    if out.shape[0] != m or out.shape[1] != n:
        raise ValueError(f"out must have shape {(m, n)}, got {np.shape(out)}")
    cdef int64_t lda = max(a.shape[1], 1), ldb = max(b.shape[1], 1), ldc = max(n, 1)
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef void *pb = cnp.PyArray_DATA(b)
    cdef void *pc = cnp.PyArray_DATA(out)
    cdef tg_status status
    if dtype == np.float32:
        with nogil:
            status = tg_sgemm(trans_a, trans_b, m, n, k, <float>alpha, <const float *>pa, lda,
                              <const float *>pb, ldb, <float>beta, <float *>pc, ldc)
    else:
        with nogil:
            status = tg_dgemm(trans_a, trans_b, m, n, k, alpha, <const double *>pa, lda,
                              <const double *>pb, ldb, beta, <double *>pc, ldc)
    check_status(status, "matmul")
    return out


def relu(cnp.ndarray x, cnp.ndarray out):
    """out = max(x, 0); returns the number of zero outputs."""
    dtype = x.dtype
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError(f"x must be float32 or float64, got {dtype}")
    check_array(x, "x", dtype, False)
    check_array(out, "out", dtype, True)
    if x.size != out.size:
        raise ValueError(f"out must have x's shape {np.shape(x)}, got {np.shape(out)}")
    cdef int64_t n = x.size, zeros = 0
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *po = cnp.PyArray_DATA(out)
    cdef tg_status status
    if dtype == np.float32:
        with nogil:
            status = tg_relu_f32(<const float *>px, <float *>po, n, &zeros)
    else:
        with nogil:
            status = tg_relu_f64(<const double *>px, <double *>po, n, &zeros)
    check_status(status, "relu")
    return zeros


def relu_backward(cnp.ndarray x, cnp.ndarray grad_out, cnp.ndarray out):
    """out = grad_out where x > 0, else 0."""
    dtype = x.dtype
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError(f"x must be float32 or float64, got {dtype}")
    check_array(x, "x", dtype, False)
    check_array(grad_out, "grad_out", dtype, False)
    check_array(out, "out", dtype, True)
    if x.size != grad_out.size or x.size != out.size:
        raise ValueError(f"x, grad_out and out must have one shape, got "
                         f"{np.shape(x)}, {np.shape(grad_out)}, {np.shape(out)}")
    cdef int64_t n = x.size
    cdef void *px = cnp.PyArray_DATA(x)
    cdef void *pg = cnp.PyArray_DATA(grad_out)
    cdef void *po = cnp.PyArray_DATA(out)
    cdef tg_status status
    if dtype == np.float32:
        with nogil:
            status = tg_relu_backward_f32(<const float *>px, <const float *>pg, <float *>po, n)
    else:
        with nogil:
            status = tg_relu_backward_f64(<const double *>px, <const double *>pg, <double *>po, n)
    check_status(status, "relu_backward")
    return out
