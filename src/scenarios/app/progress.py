"""Progress of a run, read from the progress bar that :func:`scenarios.run` and :func:`scenarios.sweep` draw.

Both draw a tqdm bar on ``sys.stderr`` when ``progress=True``. The page runs the model in a worker thread
whose writes to ``sys.stderr`` are routed here, and reads the last ``done/total`` from them, so the page
shows the same progress as the terminal without a second progress mechanism in the model.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import TextIO

__all__ = ["Progress", "install_router"]

_COUNT = re.compile(r"(\d+)/(\d+)")


class Progress:
    """The last ``done/total`` written by a progress bar (a file-like sink)."""

    def __init__(self) -> None:
        self.done, self.total = 0, 0

    def write(self, text: str) -> int:
        r"""Keep the last count in ``text``.

        Examples
        --------
        >>> p = Progress(); _ = p.write("\rAn Giang:  45%|####  | 81/180 [00:01<00:01, 90day/s]"); p.fraction
        0.45
        """
        found = _COUNT.findall(text)
        if found:
            self.done, self.total = (int(x) for x in found[-1])
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""

    @property
    def fraction(self) -> float:
        """Share done, 0 before the first count."""
        return self.done / self.total if self.total else 0.0


class _Router:
    """Stands in for ``sys.stderr``: writes from a registered thread go to its sink, the rest pass through."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.sinks: dict[int, Progress] = {}

    def write(self, text: str) -> int:
        sink = self.sinks.get(threading.get_ident())
        return sink.write(text) if sink is not None else self.stream.write(text)

    def flush(self) -> None:
        if threading.get_ident() not in self.sinks:
            self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


_LOCK = threading.Lock()


def install_router() -> _Router:
    """Route ``sys.stderr`` through a per-thread router (once per process; the app's server only)."""
    with _LOCK:
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)
        return sys.stderr
