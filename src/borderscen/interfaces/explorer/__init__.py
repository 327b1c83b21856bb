"""``borderscen explore``: an interactive explorer in the browser (a Solara app).

Needs the ``[viz]`` extra (``pip install 'borderscen[viz]'``). :mod:`borderscen.interfaces.explorer.core`
holds what the app computes (usable and testable without a browser);
:mod:`borderscen.interfaces.explorer.app` the user interface.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

__all__ = ["APPS", "DEFAULT_HOST", "DEFAULT_PORT", "server_command", "serve"]

#: Servers bind the loopback interface unless told otherwise (house rule).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


#: The apps: the explorer (both views), and the one-run view in Mesa's SolaraViz.
APPS = {"explorer": "borderscen.interfaces.explorer.app", "mesa": "borderscen.interfaces.explorer.mesa_view"}


def server_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                   open_browser: bool = False, app: str = "explorer") -> list[str]:
    """The solara command line that serves the explorer (``app``: a key of :data:`APPS`)."""
    return [sys.executable, "-m", "solara", "run", APPS[app], "--host", host,
            "--port", str(port), "--production", "--open" if open_browser else "--no-open",
            "--log-level", "warning"]


def server_env() -> dict[str, str]:
    """The server's environment: a non-interactive matplotlib backend (figures become PNGs)."""
    return {**os.environ, "MPLBACKEND": "Agg"}


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, open_browser: bool = False,
          app: str = "explorer") -> int:
    """Serve the explorer until interrupted; returns the server's exit status."""
    missing = [m for m in ("solara", "mesa.visualization") if importlib.util.find_spec(
        m.split(".")[0]) is None]
    if missing:
        print("error: the explorer needs the [viz] extra: pip install 'borderscen[viz]'",
              file=sys.stderr)
        return 2
    print(f"borderscen explorer on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    return subprocess.call(server_command(host, port, open_browser, app), env=server_env())
