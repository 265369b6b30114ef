"""``scenarios app``: a local web page for planners who do not use a terminal.

The page (:mod:`scenarios.app.page`) is a Streamlit script served from this machine only
(``127.0.0.1``); every asset comes from the installed packages, nothing from the Internet, and no usage
statistics are sent. Streamlit is an optional extra: ``pip install -e ".[app]"``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["launch", "streamlit_command"]

INSTALL_HINT = 'the web page needs the "app" extra: pip install -e ".[app]" (or pip install "scenarios[app]")'


def streamlit_command(port: int = 8501, open_browser: bool = True, config: Path | None = None) -> list[str]:
    """Return the command that serves the page on ``127.0.0.1:port``, offline and without usage statistics.

    Examples
    --------
    >>> cmd = streamlit_command(8600, open_browser=False)
    >>> cmd[1:4], "--browser.gatherUsageStats=false" in cmd, "--server.address=127.0.0.1" in cmd
    (['-m', 'streamlit', 'run'], True, True)
    """
    page = Path(__file__).with_name("page.py")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(page),
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        f"--server.headless={str(not open_browser).lower()}",
        "--server.showEmailPrompt=false",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        "--browser.serverAddress=127.0.0.1",
        "--global.developmentMode=false",
        "--client.toolbarMode=viewer",
        "--theme.base=light",
    ]
    if config is not None:
        cmd += ["--", "--config", str(Path(config).resolve())]
    return cmd


def launch(port: int = 8501, open_browser: bool = True, config: Path | None = None) -> int:
    """Serve the page (replacing this process, so stopping it stops the server); 2 without the extra."""
    if importlib.util.find_spec("streamlit") is None:
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    if config is not None and not Path(config).is_file():
        print(f"error: config file not found: {config}", file=sys.stderr)
        return 2
    cmd = streamlit_command(port, open_browser, config)
    print(f"scenarios app: http://127.0.0.1:{port} (Ctrl+C to stop)", flush=True)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover - execv does not return
