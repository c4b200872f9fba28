from datetime import time

import pytest

from cloud.csv_records import decode_csv_bytes
from cloud.registry.csv_rows import parse_station_csv

HEADER = "station_id,name,town,grade,weekdays,hours,open_on_holidays\n"


def test_good_rows_become_typed_records_with_a_schedule() -> None:
    text = HEADER + "qd-huilong-01,惠隆村居家养老服务站,汇龙镇,3A,1-5,08:30-11:30 13:30-17:00,yes\n" \
                    "qd-nanyang-02,南阳站,南阳镇,5a,\"1,3,5\",09:00-11:00,\n"
    records, problems = parse_station_csv(text)
    assert problems == []
    first, second = records
    assert (first.id, first.name, first.town, first.grade) == ("qd-huilong-01", "惠隆村居家养老服务站", "汇龙镇", "3A")
    assert first.schedule.weekdays == frozenset({1, 2, 3, 4, 5})
    assert first.schedule.hours == ((time(8, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    assert first.schedule.open_on_holidays is True
    assert (second.grade, second.schedule.weekdays) == ("5A", frozenset({1, 3, 5}))
    assert second.schedule.open_on_holidays is False


def test_excel_bom_and_crlf_are_accepted() -> None:
    data = ("\ufeff" + HEADER + "qd-a,A,T,2A,1-6,08:00-12:00,no\n").replace("\n", "\r\n").encode("utf-8")
    records, problems = parse_station_csv(decode_csv_bytes(data))
    assert problems == [] and [r.id for r in records] == ["qd-a"]


def test_open_on_holidays_column_is_optional() -> None:
    records, problems = parse_station_csv("station_id,name,town,grade,weekdays,hours\nqd-a,A,T,4A,1-5,08:00-12:00\n")
    assert problems == [] and records[0].schedule.open_on_holidays is False


def test_bad_rows_are_reported_by_line_and_good_rows_kept() -> None:
    text = (
        HEADER
        + "qd-a,A,T,3A,1-5,08:30-11:30,no\n"  # 2 good
        + "QD-B,B,T,3A,1-5,08:30-11:30,no\n"  # 3 bad id
        + "qd-c,C,T,6A,1-5,08:30-11:30,no\n"  # 4 bad grade
        + "\n"  # 5 blank: skipped
        + "qd-d,D,T,2A,1-8,08:30-11:30,no\n"  # 6 bad weekday
        + "qd-e,E,T,2A,1-5,11:30-08:30,no\n"  # 7 backwards session
        + "qd-f,\"F\nstation\",T,2A,1-5,08:00-09:00,maybe\n"  # 8-9 quoted newline; bad yes/no
        + "qd-a,A again,T,2A,1-5,08:00-09:00,no\n"  # 10 duplicate
        + "qd-g,G,T,2A,1-5,08:00-09:00,no\n"  # 11 good
    )
    records, problems = parse_station_csv(text)
    assert [r.id for r in records] == ["qd-a", "qd-g"]
    assert [p.line for p in problems] == [3, 4, 6, 7, 8, 10]
    reasons = [str(p) for p in problems]
    assert "line 3:" in reasons[0] and "only a-z, 0-9 and '-'" in reasons[0]
    assert "grade must be one of 2A, 3A, 4A, 5A (got '6A')" in reasons[1]
    assert "ISO weekdays are 1 (Monday) to 7 (Sunday)" in reasons[2]
    assert "ends before it starts" in reasons[3]
    assert "open_on_holidays 'maybe' must be yes or no" in reasons[4]
    assert "already on line 2" in reasons[5]


def test_missing_columns_and_empty_file_are_explained() -> None:
    records, problems = parse_station_csv("station_id,name,grade\nqd-a,A,3A\n")
    assert records == []
    assert str(problems[0]) == ("line 1: header lacks column(s) town, weekdays, hours; "
                                "expected station_id,name,town,grade,weekdays,hours")
    assert parse_station_csv("")[1][0].line == 1


def test_unknown_column_is_reported_but_rows_import() -> None:
    records, problems = parse_station_csv("station_id,name,town,grade,weekdays,hours,open_on_holiday\n"
                                          "qd-a,A,T,3A,1-5,08:00-09:00,yes\n")
    assert [r.id for r in records] == ["qd-a"]
    assert "unknown column(s) open_on_holiday" in str(problems[0])


def test_non_utf8_file_is_refused_plainly() -> None:
    with pytest.raises(ValueError, match=r"not UTF-8.*CSV UTF-8"):
        decode_csv_bytes((HEADER + "qd-a,惠隆,汇龙,3A,1-5,08:00-09:00,no\n").encode("gb18030"))
