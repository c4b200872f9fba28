"""Reading Mosquitto's password file and ACL the way Mosquitto does, for the embedded broker. Pure.

Only what `eldercare cloud provision` writes is understood: `user:$7$…` lines and `user NAME` followed by
`topic read|write|readwrite FILTER` lines. Anything not granted is refused, as in Mosquitto.
"""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grants:
    """What one user may do: topic filters it may read (subscribe to, receive) and write (publish to)."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


@dataclass(frozen=True)
class Access:
    """Password hashes and grants by user name."""

    hashes: dict[str, str] = field(default_factory=dict)
    grants: dict[str, Grants] = field(default_factory=dict)


def parse_passwd(text: str) -> dict[str, str]:
    """`user:hash` lines; comments and blank lines skipped."""
    users: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            user, digest = line.split(":", 1)
            users[user] = digest
    return users


def parse_acl(text: str) -> dict[str, Grants]:
    """Grants per user; `topic` lines before any `user` line (anonymous grants) are ignored: there are none."""
    read: dict[str, list[str]] = {}
    write: dict[str, list[str]] = {}
    deny: dict[str, list[str]] = {}
    user: str | None = None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user" and len(words) == 2:
            user = words[1]
            read.setdefault(user, [])
            write.setdefault(user, [])
            deny.setdefault(user, [])
        elif words[0] == "topic" and user is not None and len(words) in (2, 3):
            access, topic = (words[1], words[2]) if len(words) == 3 else ("readwrite", words[1])
            if access in ("read", "readwrite"):
                read[user].append(topic)
            if access in ("write", "readwrite"):
                write[user].append(topic)
            if access == "deny":
                deny[user].append(topic)
    return {u: Grants(tuple(read[u]), tuple(write[u]), tuple(deny[u])) for u in read}


def verify_password(password: str, digest: str) -> bool:
    """True when `password` matches a Mosquitto 2 `$7$iterations$salt$hash` (PBKDF2-SHA512) entry."""
    parts = digest.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt, expected = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    except (ValueError, binascii.Error):
        return False
    if not 1 <= iterations <= 10_000_000:
        return False
    actual = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=len(expected))
    return hmac.compare_digest(actual, expected)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching of a concrete topic against a filter with `+` and `#`."""
    want, have = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(want):
        if level == "#":
            return True
        if index >= len(have) or (level != "+" and level != have[index]):
            return False
    return len(want) == len(have)


def filter_covered(requested: str, granted: str) -> bool:
    """True when every topic `requested` can match is also matched by `granted`."""
    want, have = requested.split("/"), granted.split("/")
    for index, level in enumerate(have):
        if level == "#":
            return True
        if index >= len(want):
            return False
        if level != "+" and (want[index] in ("+", "#") or want[index] != level):
            return False
        if level == "+" and want[index] == "#":
            return False
    return len(want) == len(have)


def _denied(grants: Grants, topic: str) -> bool:
    # As in Mosquitto, `deny` is checked before any grant; a denied topic is neither written nor read.
    return any(topic_matches(f, topic) for f in grants.deny)


def may_publish(grants: Grants | None, topic: str) -> bool:
    return grants is not None and not _denied(grants, topic) and any(topic_matches(f, topic) for f in grants.write)


def may_receive(grants: Grants | None, topic: str) -> bool:
    return grants is not None and not _denied(grants, topic) and any(topic_matches(f, topic) for f in grants.read)


def may_subscribe(grants: Grants | None, topic_filter: str) -> bool:
    """Only to filters wholly inside what the user may read (Mosquitto would grant `#` and deliver nothing more)."""
    return grants is not None and any(filter_covered(topic_filter, f) for f in grants.read)
