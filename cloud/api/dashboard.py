"""Where the dashboard's static files are: the `dashboards` package shipped next to `cloud`."""

import importlib.util
from pathlib import Path


def dashboard_dir() -> Path:
    """The directory holding index.html and static/ (the installed package, or the source tree)."""
    spec = importlib.util.find_spec("dashboards")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / "dashboards"
