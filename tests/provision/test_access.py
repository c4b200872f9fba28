"""The embedded broker's reading of Mosquitto's password file and ACL, checked against what provision writes."""

from pathlib import Path

import pytest

from cloud.provision.access import filter_covered, may_publish, may_receive, may_subscribe, parse_acl, parse_passwd
from cloud.provision.access import verify_password as verify
from cloud.provision.acl import render_acl
from cloud.provision.passwords import write_password_file


@pytest.mark.parametrize("use_binary", [True, False])
def test_passwords_hashed_by_mosquitto_passwd_and_by_python_verify(tmp_path: Path, use_binary: bool) -> None:
    write_password_file(tmp_path / "passwd", {"qd-a": "s3cret-a", "eldercare-ingest": "s3cret-i"},
                        use_binary=use_binary)
    users = parse_passwd((tmp_path / "passwd").read_text())
    assert set(users) == {"qd-a", "eldercare-ingest"}
    assert verify("s3cret-a", users["qd-a"]) and not verify("s3cret-i", users["qd-a"])
    assert not verify("", users["qd-a"]) and not verify("s3cret-a", "$6$plain$nothing")


ACL = parse_acl(render_acl(["qd-a", "qd-b"], "eldercare-ingest", "eldercare-worker"))


def test_a_station_writes_its_own_events_only() -> None:
    a = ACL["qd-a"]
    assert may_publish(a, "eldercare/v1/qd-a/door-1/door")
    assert may_publish(a, "eldercare/v1/qd-a/agent/status")
    assert not may_publish(a, "eldercare/v1/qd-b/door-1/door")
    assert not may_publish(a, "eldercare/v1/qd-a/cmd/call-ack")  # its own command: the cloud's to send
    assert not may_publish(a, "eldercare/v1/qd-b/cmd/call-ack")


def test_a_station_reads_its_own_commands_only() -> None:
    a = ACL["qd-a"]
    assert may_subscribe(a, "eldercare/v1/qd-a/cmd/#") and may_subscribe(a, "eldercare/v1/qd-a/cmd/call-ack")
    for wide in ("#", "eldercare/#", "eldercare/v1/+/cmd/#", "eldercare/v1/qd-b/cmd/#", "+/+/qd-a/cmd/#"):
        assert not may_subscribe(a, wide), wide
    assert may_receive(a, "eldercare/v1/qd-a/cmd/call-ack")
    assert not may_receive(a, "eldercare/v1/qd-b/door-1/door")


def test_services_and_strangers() -> None:
    ingest, worker = ACL["eldercare-ingest"], ACL["eldercare-worker"]
    assert may_subscribe(ingest, "eldercare/v1/#") and not may_publish(ingest, "eldercare/v1/qd-a/cmd/call-ack")
    assert may_publish(worker, "eldercare/v1/qd-a/cmd/call-ack") and not may_subscribe(worker, "eldercare/v1/#")
    assert not may_publish(worker, "eldercare/v1/qd-a/door-1/door")
    assert not may_publish(ACL.get("nobody"), "eldercare/v1/qd-a/door-1/door")


def test_filter_coverage() -> None:
    assert filter_covered("a/b/c", "a/+/c") and filter_covered("a/b/#", "a/#") and filter_covered("a/#", "a/#")
    assert not filter_covered("a/+/c", "a/b/c") and not filter_covered("a/#", "a/+")
    assert not filter_covered("a", "a/b") and not filter_covered("a/b/c/d", "a/+/c")
