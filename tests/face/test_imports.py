"""The camera driver loads the face pipeline when a camera runs; the pipeline never imports the driver back (an
import cycle makes either module's import order matter, and ties the pipeline to the agent's config model)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reachable(start: str) -> set[str]:
    """The project's modules `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        path = module_path(name)
        if path is None or name in seen:
            continue
        seen.add(name)
        todo += [m for m in imports(path) if m.split(".")[0] in {"edge", "station_protocol", "firmware_config"}]
    return seen


def test_the_face_pipeline_does_not_import_the_camera_driver() -> None:
    driver = "edge.drivers.camera"
    loaded = reachable(driver)
    assert "edge.face.runner" in loaded  # the driver does run the pipeline
    for name in sorted(loaded - {driver}):
        path = module_path(name)
        assert path is not None
        assert driver not in imports(path), f"{name} imports {driver}: an import cycle"
