"""The dashboard has a Chinese name for every spot-check reason code and result, and every day flag, the rules can
produce: a new code without one would show as a bare English word on the bureau's page."""

import re
from pathlib import Path

from cloud.rules import day
from cloud.rules.spotcheck import SpotReason, SpotResult

PAGES = Path(__file__).resolve().parents[2] / "dashboards" / "static" / "pages.js"

def js_table(name: str) -> dict[str, str]:
    """The `const NAME = { key: "text", ... };` object literal of pages.js, as a dict."""
    found = re.search(rf"^const {name} = \{{(.*?)\}};", PAGES.read_text(encoding="utf-8"), re.S | re.M)
    assert found, f"pages.js has no table {name}"
    body = found.group(1)
    pairs = dict(re.findall(r'(\w+|"[^"]+"):\s*"([^"]*)"', body))
    assert pairs, f"{name} parsed empty"
    return {k.strip('"'): v for k, v in pairs.items()}


def chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def test_every_reason_code_has_a_chinese_name() -> None:
    reasons = js_table("REASONS")
    missing = {code.value for code in SpotReason} - set(reasons)
    assert not missing, f"codes the rules produce with no name in pages.js: {sorted(missing)}"
    assert all(chinese(reasons[code.value]) for code in SpotReason), reasons
    assert set(reasons) <= {code.value for code in SpotReason}, "a name for a code never produced"


def test_every_result_has_a_chinese_name() -> None:
    results = js_table("RESULT_NAMES")
    assert {r.value for r in SpotResult} <= set(results) and all(chinese(v) for v in results.values())


def test_every_day_flag_has_a_chinese_name() -> None:
    flags = {value for name, value in vars(day).items() if name.startswith("FLAG_") and isinstance(value, str)}
    names = js_table("FLAG_NAMES")
    assert flags and flags <= set(names), f"flags with no name in pages.js: {sorted(flags - set(names))}"
    assert all(chinese(names[f]) for f in flags)
