"""numba's ``njit`` when numba is installed, else a decorator that leaves functions as they are.

numba is a dependency, but the package must still run without it (pure numpy, slower): modules with
compiled kernels import :func:`njit` and :data:`COMPILED` from here and keep a numpy path for ``not COMPILED``.
"""

from __future__ import annotations

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where numba is not installed
    COMPILED = False

    def njit(*args, **kwargs):  # noqa: D103 - a stand-in decorator
        return (lambda f: f) if not args or not callable(args[0]) else args[0]
else:
    COMPILED = True

__all__ = ["COMPILED", "njit"]
