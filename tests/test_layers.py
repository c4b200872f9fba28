"""The layers point one way, read from the source of every module (imports inside functions included):

    station_protocol          the MQTT contract
    hostclock                 the host's clock as its kernel knows it (NTP synchronised or not)
    firmware_config           station definitions and their devices' settings
    edge | cloud              side by side, neither importing the other
    simulators                simulated hardware, stations and fleets, driving the edge
    eldercare                 the composition: the CLI tree, `serve`, `demo`

and no module imports itself back through others when it loads.
"""

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What each top-level package may import of the project's own packages.
ALLOWED: dict[str, frozenset[str]] = {
    "station_protocol": frozenset(),
    "hostclock": frozenset(),
    "firmware_config": frozenset({"station_protocol"}),
    "edge": frozenset({"station_protocol", "hostclock", "firmware_config"}),
    "cloud": frozenset({"station_protocol", "hostclock", "firmware_config", "dashboards"}),
    "simulators": frozenset({"station_protocol", "hostclock", "firmware_config", "edge"}),
    "eldercare": frozenset({"station_protocol", "hostclock", "firmware_config", "edge", "cloud", "simulators"}),
    "dashboards": frozenset(),
}
PROJECT = frozenset({*ALLOWED, "tests", "bench"})

# Inside the cloud, from the bottom up: a subpackage imports only those below it. Names not listed (settings,
# placeholders, secret_file, csv_records) are the shared bottom.
CLOUD_ORDER = ("rules", "store", "registry", "convert", "telemetry", "alerts", "ingest", "provision", "embedded_access",
               "embedded_broker", "homecare", "derive", "api", "users_cli")
# Upward imports tolerated for a while, as (importer, imported) pairs, so that one known exception does not switch
# the check off for everything else; none today. Remove a pair as soon as its import is gone.
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()
# The alerts' vocabulary (kinds, levels, cause keys) imports nothing of the project: the rules name alerts in it and
# the store constrains its columns with it, so it sits at the shared bottom though the lifecycle above it does not.
VOCABULARY = frozenset({"cloud.alerts.kinds", "cloud.alerts.keys",
                        # home care's record types and numbers: pure, the rules file and the tables name them
                        "cloud.homecare.records", "cloud.homecare.config"})


def modules() -> Iterator[tuple[str, Path]]:
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: str, path: Path, *, load_time_only: bool = False) -> set[str]:
    """The project modules `module` imports (all of them, or only those its body imports when it loads)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, node, path.name == "__init__.py")
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif not load_time_only and hasattr(node, "body"):
                for child in ast.walk(node):
                    if isinstance(child, ast.Import | ast.ImportFrom):
                        visit([child])

    visit(tree.body)
    return {name for name in found if name.split(".")[0] in PROJECT}


def _known(names: set[str], existing: set[str]) -> set[str]:
    """Keep the names that are modules (drop `package.attribute` forms of `from package import attribute`)."""
    return {name for name in names if name in existing}


def test_every_package_imports_only_the_layers_below_it() -> None:
    wrong = []
    for module, path in modules():
        own = module.split(".")[0]
        for target in sorted(imports(module, path)):
            top = target.split(".")[0]
            if top != own and top not in ALLOWED[own]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def _cloud_rank(module: str) -> int | None:
    """Where a cloud module sits in CLOUD_ORDER; -1 for the shared bottom; None outside the cloud."""
    parts = module.split(".")
    if parts[0] != "cloud" or len(parts) < 2:
        return None
    if module in VOCABULARY:
        return -1
    return CLOUD_ORDER.index(parts[1]) if parts[1] in CLOUD_ORDER else -1


def test_cloud_subpackages_import_only_those_below_them() -> None:
    existing = {name for name, _ in modules()}
    wrong = []
    for module, path in modules():
        rank = _cloud_rank(module)
        if rank is None:
            continue
        for target in sorted(_known(imports(module, path), existing)):
            other = _cloud_rank(target)
            if other is not None and other > rank and (module, target) not in KNOWN_UPWARD:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_known_upward_imports_still_exist() -> None:
    # When one is gone, drop it from KNOWN_UPWARD so it cannot come back unnoticed.
    existing = dict(modules())
    for module, target in KNOWN_UPWARD:
        if module in existing:
            assert target in imports(module, existing[module]), f"{module} no longer imports {target}"


def test_no_import_cycle_when_modules_load() -> None:
    existing = dict(modules())
    graph = {module: _known(imports(module, path, load_time_only=True), set(existing)) - {module}
             for module, path in existing.items()}
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    assert cycles == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # The checker itself can fail: an edge module importing the cloud, even inside a function, is reported.
    source = tmp_path / "agent.py"
    source.write_text("def f():\n    from cloud.store import db\n    return db\n", encoding="utf-8")
    assert "cloud.store" in imports("edge.agent", source)
    assert "cloud.store" not in imports("edge.agent", source, load_time_only=True)


def test_the_cloud_reads_station_files_without_loading_edge_code() -> None:
    # What `eldercare cloud stations import` loads: a station file with every device type, and not one edge module.
    code = (
        "import sys\n"
        "from cloud.registry.sources import read_sources\n"
        "from firmware_config.load import parse_station\n"
        "parse_station(sys.stdin.read())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('edge', 'simulators', 'eldercare', 'tests')))\n"
    )
    station = """
station: qd-layer-01
name: 测试站
grade: 3A
town: 汇龙镇
address: 1 号
mqtt: {host: 127.0.0.1, tls: false}
devices:
  - {type: door, id: door-1, pin: 17}
  - {type: counter, id: flow-1, port: /dev/null, unit: 1}
  - {type: button, id: call-1, pin: 27}
  - {type: camera, id: face-1, source: "0", gallery: /tmp/gallery}
"""
    result = subprocess.run([sys.executable, "-c", code], input=station, capture_output=True, text=True, check=True,
                            cwd=ROOT)
    assert result.stdout.strip() == "[]"
