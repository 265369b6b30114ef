"""scenarios: epidemic surge planning for provinces.

Project new-variant epidemics with an age-structured SEIR or an agent-based engine, compare oxygen, bed and
ICU needs with provincial capacity, and tell when a surge plan's thresholds would be crossed.
"""

import importlib.metadata

from . import plots  # noqa: E402,I001 - figures (matplotlib is imported inside its functions only)
from .config import ConfigError, load_config
from .ensemble import sweep
from .indicators import crossings
from .simulate import run

try:
    __version__ = importlib.metadata.version("scenarios")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "unknown"

__all__ = ["__version__", "ConfigError", "crossings", "load_config", "plots", "run", "sweep"]
