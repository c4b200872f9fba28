from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.hostile import assert_never_500


def test_hostile_input_on_sqlite_is_4xx_never_500(fleet_as: Callable[[str], TestClient]) -> None:
    assert assert_never_500(fleet_as("admin")) > 300
    assert assert_never_500(fleet_as("staff-hl1")) > 300
