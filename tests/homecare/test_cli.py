"""`eldercare cloud homecare import` (bad rows by line, the good ones imported, re-import, unknown provider) and
`eldercare cloud derive --elders --visits` on files written by hand and by the simulator (exact line shapes, bad
lines on stderr, the station options still required without the home-care ones)."""

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cloud.homecare.simulate import elders_csv, registry_csvs, simulate, visits_csv
from cloud.store.db import make_engine
from cloud.store.homecare import HomecareElder
from eldercare.groups import cloud


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cloud, ["migrate", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    return tmp_path / "data"


def _import(data_dir: Path, kind: str, *files: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cloud, ["homecare", "import", kind, *map(str, files), "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def _import_providers_and_caregivers(data_dir: Path, tmp_path: Path) -> None:
    """The simulated registry's providers and caregivers, imported (the elders' rows refer to them)."""
    files = registry_csvs(simulate(date(2026, 10, 1), 31))
    for kind in ("providers", "caregivers"):
        (tmp_path / f"{kind}.csv").write_text(files[kind], encoding="utf-8")
        assert _import(data_dir, kind, tmp_path / f"{kind}.csv")[0] == 0


def test_import_reports_bad_rows_by_line_and_imports_the_good_ones(data_dir: Path, tmp_path: Path) -> None:
    _import_providers_and_caregivers(data_dir, tmp_path)
    bad = tmp_path / "elders.csv"
    bad.write_bytes(("\ufeffelder_id,name,category,town,provider,address\n"
                     "e-1,张大爷,高龄,汇龙镇,p-kangle,汇龙镇1号\n"
                     "e-2,李奶奶,bedridden,汇龙镇,p-kangle,\n"
                     "e 3,王奶奶,disabled,汇龙镇,p-kangle,\n"
                     "e-4,赵大爷,self_care,汇龙镇,p-nobody,\n"
                     "e-1,张大爷,disabled,汇龙镇,p-kangle,\n"
                     "e-5,,semi_disabled,南阳镇,p-leling,\n"
                     "e-6,张\x07奶奶,disabled,汇龙镇,p-kangle,\n").encode())
    code, out, err = _import(data_dir, "elders", bad)
    assert code == 1 and "elders: 1 added, 0 updated" in out
    assert f"{bad}: line 3: category must be one of high_age, self_care, semi_disabled, disabled" in err
    assert f"{bad}: line 4: elder id 'e 3' contains ' '" in err
    assert f"{bad}: line 5: elder e-4: provider 'p-nobody' is not registered" in err
    assert f"{bad}: line 6: elder e-1 is already on line 2" in err
    assert f"{bad}: line 7: name is empty" in err
    assert f"{bad}: line 8: name contains control characters" in err
    code, out, _ = _import(data_dir, "elders", bad)
    assert "elders: 0 added, 1 updated" in out  # re-import updates, never duplicates
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.connect() as connection:
        [row] = connection.execute(select(HomecareElder)).all()
    engine.dispose()
    assert (row.id, row.category, row.address) == ("e-1", "high_age", "汇龙镇1号")
    not_utf8 = tmp_path / "gbk.csv"
    not_utf8.write_bytes("elder_id,name\n1,张".encode("gbk"))
    code, _, err = _import(data_dir, "elders", not_utf8)
    assert code == 1 and "is not UTF-8" in err


def _derive(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(cloud, ["derive", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines()] if result.exit_code == 0 else []
    return result.exit_code, lines, result.stderr if result.exit_code == 0 else result.output


def test_a_caregiver_of_an_unregistered_provider_is_reported_with_its_line(data_dir: Path, tmp_path: Path) -> None:
    # The provider is checked against the store after parsing; the line still reaches the message (the file's line,
    # counting the blank one, not the record's index).
    _import_providers_and_caregivers(data_dir, tmp_path)
    caregivers = tmp_path / "caregivers-more.csv"
    caregivers.write_text("caregiver_id,name,provider,phone\n"
                          "\n"
                          "HL901,陈阿姨,p-kangle,\n"
                          "HL902,周阿姨,p-nobody,\n", encoding="utf-8")
    code, out, err = _import(data_dir, "caregivers", caregivers)
    assert code == 1 and "caregivers: 1 added" in out
    assert f"{caregivers}: line 4: caregiver HL902: provider 'p-nobody' is not registered" in err, err


def test_derive_prints_exactly_the_issues_lines(tmp_path: Path) -> None:
    elders = tmp_path / "elders.csv"
    elders.write_text("elder_id,name,category,town,provider\n"
                      "e-1,张大爷,disabled,汇龙镇,p-a\n"
                      "e-2,李奶奶,high_age,汇龙镇,p-a\n", encoding="utf-8")
    visits = tmp_path / "visits.csv"
    visits.write_text("visit_id,elder_id,caregiver_id,provider,sign_in,sign_out,items\n"
                      "v1,e-1,A001,p-a,2026-10-05T09:00:00+08:00,2026-10-05T10:00:00+08:00,meal;cleaning\n"
                      "v2,e-1,A001,p-a,2026-10-06T09:00:00+08:00,2026-10-06T09:59:00+08:00,meal\n"
                      "v3,e-1,A001,p-a,2026-10-07T09:00:00+08:00,,meal\n"
                      "v4,e-2,A001,p-a,2026-10-31T23:30:00+08:00,2026-11-01T00:45:00+08:00,companionship\n"
                      "v5,e-9,A001,p-a,2026-10-08T09:00:00+08:00,2026-10-08T10:00:00+08:00,meal\n"
                      "v6,e-2,A001,p-a,2026-10-09 09:00,2026-10-09 10:00,meal\n", encoding="utf-8")
    code, lines, err = _derive("--elders", str(elders), "--visits", str(visits))
    assert code == 0, err
    assert lines == [
        {"type": "elder_month", "elder": "e-1", "month": "2026-10", "category": "disabled", "visits": 1,
         "minutes": 60, "required": 4, "met": False},
        {"type": "elder_month", "elder": "e-2", "month": "2026-10", "category": "high_age", "visits": 1,
         "minutes": 75, "required": 1, "met": True},
        {"type": "provider_month", "provider": "p-a", "month": "2026-10", "orders": 4, "counted": 2, "voided": 2,
         "elders": 2, "elders_met": 1},
    ]
    assert f"{visits}: line 7: sign_in '2026-10-09 09:00' has no offset" in err
    assert "visits of 1 elder(s) not in elders.csv ignored: e-9" in err


def test_derive_still_needs_the_station_options_without_the_home_care_ones(tmp_path: Path) -> None:
    code, _, output = _derive("--from", "2026-10-01", "--to", "2026-10-31")
    assert code == 2 and "Missing option '--stations'" in output
    elders = tmp_path / "elders.csv"
    elders.write_text("elder_id,name,category,town,provider\ne-1,张,disabled,汇龙镇,p-a\n", encoding="utf-8")
    code, _, output = _derive("--elders", str(elders))
    assert code == 2 and "--elders and --visits go together" in output


def test_derive_on_the_simulated_month(tmp_path: Path) -> None:
    sim = simulate(date(2026, 10, 1), 31, 17)
    (tmp_path / "elders.csv").write_text(elders_csv(sim), encoding="utf-8")
    (tmp_path / "visits.csv").write_text(visits_csv(sim), encoding="utf-8")
    code, lines, err = _derive("--elders", str(tmp_path / "elders.csv"), "--visits", str(tmp_path / "visits.csv"))
    assert code == 0, err
    months = {(ln["elder"], ln["month"]): ln for ln in lines if ln["type"] == "elder_month"}
    assert len(months) == len(sim.elders)
    assert months[(sim.short_elder, "2026-10")]["met"] is False
    assert months[(sim.hospital_elder, "2026-10")]["met"] is False  # no --made-up file: the month is not excused
    (tmp_path / "made-up.csv").write_text(f"elder_id,month,reason\n{sim.hospital_elder},2026-10,住院\n",
                                          encoding="utf-8")
    code, lines, _ = _derive("--elders", str(tmp_path / "elders.csv"), "--visits", str(tmp_path / "visits.csv"),
                             "--made-up", str(tmp_path / "made-up.csv"))
    hospital = next(ln for ln in lines if ln.get("elder") == sim.hospital_elder)
    assert (hospital["visits"], hospital["required"], hospital["met"]) == (0, 0, True)


def test_import_and_derive_with_the_service_period_columns(data_dir: Path, tmp_path: Path) -> None:
    _import_providers_and_caregivers(data_dir, tmp_path)
    elders = tmp_path / "elders.csv"
    elders.write_text("elder_id,name,category,town,provider,address,package,lat,lon,timezone,since,until\n"
                      "e-1,张大爷,disabled,汇龙镇,p-kangle,,,,,,2026-11-25,\n"
                      "e-2,李奶奶,high_age,汇龙镇,p-kangle,,,,,,,2026-10-05\n"
                      "e-3,王奶奶,high_age,汇龙镇,p-kangle,,,,,,2026-11-31,\n", encoding="utf-8")
    code, out, err = _import(data_dir, "elders", elders)
    assert code == 1 and "elders: 2 added, 0 updated" in out
    assert f"{elders}: line 4: since '2026-11-31' is not a date YYYY-MM-DD" in err
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(HomecareElder.id, HomecareElder.since, HomecareElder.until)
                                  .order_by(HomecareElder.id)).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("e-1", date(2026, 11, 25), None), ("e-2", None, date(2026, 10, 5))]
    visits = tmp_path / "visits.csv"
    visits.write_text("visit_id,elder_id,caregiver_id,provider,sign_in,sign_out,items\n"
                      "v1,e-1,K01,p-kangle,2026-11-24T23:30:00+08:00,2026-11-25T00:30:00+08:00,meal\n"
                      "v2,e-2,K01,p-kangle,2026-10-03T09:00:00+08:00,2026-10-03T10:00:00+08:00,meal\n",
                      encoding="utf-8")
    code, lines, err = _derive("--elders", str(elders), "--visits", str(visits), "--from", "2026-10-01",
                               "--to", "2026-11-30")
    assert code == 0, err
    assert "line 4: since '2026-11-31'" in err
    assert lines == [
        {"type": "elder_month", "elder": "e-1", "month": "2026-11", "category": "disabled", "visits": 1,
         "minutes": 60, "required": 1, "met": True},
        {"type": "elder_month", "elder": "e-2", "month": "2026-10", "category": "high_age", "visits": 1,
         "minutes": 60, "required": 1, "met": True},
        {"type": "provider_month", "provider": "p-kangle", "month": "2026-10", "orders": 1, "counted": 1,
         "voided": 0, "elders": 1, "elders_met": 1},
        {"type": "provider_month", "provider": "p-kangle", "month": "2026-11", "orders": 1, "counted": 1,
         "voided": 0, "elders": 1, "elders_met": 1},
        {"type": "outside_period", "visit": "v1", "elder": "e-1", "provider": "p-kangle", "month": "2026-11",
         "day": "2026-11-24", "reason": "before_since"},
    ]
