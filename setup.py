"""Build the C core (csrc/*.c) and its Cython bindings (tinygrad_edu/_kernels.pyx).

OpenMP is used when the compiler accepts -fopenmp (tested once, at build time);
without it the kernels run single-threaded and the build still succeeds.
No -march=native: SIMD code paths carry their own target attributes and are
chosen at run time (see csrc/cpu.c), so one build runs on any x86-64 or ARM64 CPU.

Environment switches:
  TINYGRAD_EDU_SANITIZE=1   build with AddressSanitizer + UBSan (see README, "Guarantees")
  TINYGRAD_EDU_NO_OPENMP=1  build without OpenMP even where the compiler has it
"""

import os
import subprocess
import sys
import sysconfig
import tempfile
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def compiler_accepts(flag: str) -> bool:
    """True if the C compiler builds and links a tiny OpenMP program with `flag`."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        command = compiler.split() + [flag, path, "-o", os.path.join(tmp, "probe")]
        result = subprocess.run(command, capture_output=True)
    return result.returncode == 0


compile_args = ["-O3", "-std=c99", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]
link_args = []
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]

if os.environ.get("TINYGRAD_EDU_NO_OPENMP") != "1" and compiler_accepts("-fopenmp"):
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
    macros.append(("TG_HAVE_OPENMP", "1"))
else:
    print("tinygrad_edu: building without OpenMP (kernels run on one thread)", file=sys.stderr)

if os.environ.get("TINYGRAD_EDU_SANITIZE") == "1":
    sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    sanitize += ["-fno-omit-frame-pointer", "-g", "-O1"]
    compile_args = [a for a in compile_args if a != "-O3"] + sanitize
    link_args += ["-fsanitize=address,undefined"]

kernels = Extension(
    "tinygrad_edu._kernels",
    sources=["tinygrad_edu/_kernels.pyx"] + sorted(glob("csrc/*.c")),
    include_dirs=["csrc", np.get_include()],
    depends=sorted(glob("csrc/*.h") + glob("csrc/*.inc")),
    define_macros=macros,
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(
    ext_modules=cythonize(
        [kernels],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
        },
    )
)
