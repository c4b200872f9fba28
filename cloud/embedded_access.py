"""amqtt plugins that make the embedded broker apply Mosquitto's password file and ACL, re-read when they change.

`eldercare cloud provision station` rewrites both files; the running broker notices within a second (it checks the
files' identity at most once a second, on the next connection or message), so a new station can connect at once.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from cloud.provision.access import (
    Grants,
    may_publish,
    may_receive,
    may_subscribe,
    parse_acl,
    parse_passwd,
    verify_password,
)

T = TypeVar("T")
RECHECK_S = 1.0


class Reloading(Generic[T]):
    """A file parsed by `parse`, parsed again when its inode, size or mtime changes. A missing file reads as ''."""

    def __init__(self, path: Path, parse: Callable[[str], T]) -> None:
        self.path = path
        self.parse = parse
        self._stamp: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._value = parse("")

    def get(self) -> T:
        now = time.monotonic()
        if now - self._checked >= RECHECK_S:
            self._checked = now
            try:
                info = self.path.stat()
                stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
            except OSError:
                stamp = (0, 0, 0)
            if stamp != self._stamp:
                try:
                    text = self.path.read_text(encoding="utf-8")
                except OSError:
                    text = ""
                self._value = self.parse(text)
                self._stamp = stamp
        return self._value


class PasswordFileAuth(BaseAuthPlugin):  # type: ignore[misc]
    """Only users in the password file, with their password; no anonymous clients."""

    @dataclass
    class Config:
        password_file: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.users = Reloading(Path(self.config.password_file), parse_passwd)

    async def authenticate(self, *, session: Any) -> bool:
        username, password = getattr(session, "username", None), getattr(session, "password", None)
        if not username or password is None:
            return False
        digest = self.users.get().get(username)
        return digest is not None and verify_password(password, digest)


class AclFileTopics(BaseTopicPlugin):  # type: ignore[misc]
    """Publish, subscribe and delivery each checked against the user's grants in the ACL file."""

    @dataclass
    class Config:
        acl_file: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.acl = Reloading(Path(self.config.acl_file), parse_acl)

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Action | None = None) -> bool:
        if session is None or topic is None:
            return False
        grants: Grants | None = self.acl.get().get(getattr(session, "username", None) or "")
        if action == Action.PUBLISH:
            return may_publish(grants, topic)
        if action == Action.SUBSCRIBE:
            return may_subscribe(grants, topic)
        return may_receive(grants, topic)
