"""The audit's CSV inputs as a spreadsheet saves them: a byte-order mark, padded headers and cells, blank rows; and a
bad cell named by its line, so the bureau can find it."""

from datetime import date, time

import pytest

from cloud.derive.decisions import read_decisions
from cloud.derive.files import SpotCheck, read_losses, read_spot_checks
from cloud.rules.spotcheck import SpotResult


def test_a_spot_check_plan_from_a_spreadsheet_reads_as_written() -> None:
    text = "\ufeff Date , START,end,Station\r\n2026-10-12, 09:00 ,10:30,qd-a\r\n,,,\r\n2026-10-13,14:00,15:00,\r\n"
    assert read_spot_checks(text) == [
        SpotCheck(date(2026, 10, 12), time(9), time(10, 30), "qd-a"),
        SpotCheck(date(2026, 10, 13), time(14), time(15), None),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("day,start,end,station\n", "spot-check CSV line 1: header must be date,start,end,station (got day,start,end"),
    ("date,start,end,station\n\n2026-10-12,09:00,10:00,qd-a\n2026-13-01,09:00,10:00,qd-a\n",
     "spot-check CSV line 4: month must be in 1..12 (date YYYY-MM-DD, times HH:MM)"),
    ("date,start,end,station\n2026-10-12,9h,10:00,qd-a\n", "spot-check CSV line 2: Invalid isoformat string: '9h'"),
    ("date,start,end,station\n2026-10-12,10:00,10:00,qd-a\n", "spot-check CSV line 2: end 10:00 is not after start"),
])
def test_a_bad_spot_check_plan_names_its_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        read_spot_checks(text)


HEADER = "station,date,start,end,outcome,reason,decided_by,sensor_result,found\n"


def test_decisions_from_a_spreadsheet_read_as_written() -> None:
    text = "\ufeff" + HEADER.upper() + ",,,,,,,,\n qd-a ,2026-10-12,09:00,10:30, fail ,shut,bureau-1,pass,closed\n"
    decisions = read_decisions(text)
    assert list(decisions) == [("qd-a", date(2026, 10, 12), "09:00", "10:30")]
    decision = decisions["qd-a", date(2026, 10, 12), "09:00", "10:30"]
    assert (decision.outcome, decision.reason, decision.decided_by, decision.found) == (
        SpotResult.FAIL, "shut", "bureau-1", "closed")


@pytest.mark.parametrize(("rows", "message"), [
    ("qd-a,2026-10-12,09:00,10:30,pass,,,,\nqd-a,12/10/2026,09:00,10:30,pass,,,,\n",
     "decisions CSV line 3: Invalid isoformat string: '12/10/2026' (date YYYY-MM-DD, times HH:MM)"),
    ("qd-a,2026-10-12,09:00,10:30,maybe,,,,\n", "decisions CSV line 2: outcome 'maybe' is not one of"),
    (",2026-10-12,09:00,10:30,pass,,,,\n", "decisions CSV line 2: no station"),
])
def test_a_bad_decision_names_its_line(rows: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        read_decisions(HEADER + rows)


def test_lost_messages_windows_from_a_spreadsheet_read_as_written() -> None:
    text = ("\ufeffclient_id, lost_from ,lost_to,reason\r\n"
            "ingest-b,2026-10-14T01:30:00+00:00,2026-10-14T09:40:00+08:00,lost_while_away\r\n,,,\r\n")
    assert read_losses(text) == [(1791941400.0, 1791942000.0)]


@pytest.mark.parametrize(("text", "message"), [
    ("client,from,to,reason\n", "losses CSV line 1: header must be client_id,lost_from,lost_to,reason"),
    ("client_id,lost_from,lost_to,reason\ni,2026-10-14T01:30:00,2026-10-14T01:40:00+00:00,x\n",
     "losses CSV line 2: lost_from '2026-10-14T01:30:00' has no offset"),
    ("client_id,lost_from,lost_to,reason\ni,yesterday,2026-10-14T01:40:00+00:00,x\n",
     "losses CSV line 2: lost_from 'yesterday' is not an RFC 3339 time"),
    ("client_id,lost_from,lost_to,reason\ni,2026-10-14T01:50:00+00:00,2026-10-14T01:40:00+00:00,x\n",
     "losses CSV line 2: lost_to 2026-10-14T01:40:00\\+00:00 is before lost_from"),
])
def test_a_bad_lost_messages_window_names_its_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message):
        read_losses(text)
