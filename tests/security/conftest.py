"""The API's fixtures (a derived fleet of four stations in two towns, a user of every role), reused as they are."""

from tests.api.conftest import engine, fleet_as, fleet_client, fleet_engine

__all__ = ["engine", "fleet_as", "fleet_client", "fleet_engine"]
