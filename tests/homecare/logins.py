"""Switching the API test client between users: each logs in once, and later requests carry their token."""

from collections.abc import Callable

from fastapi.testclient import TestClient

Login = Callable[[str], TestClient]


def logins(client: TestClient, password: str) -> Login:
    """A function that makes `client` act as the named user (all share `password`), logging in on first use."""
    tokens: dict[str, str] = {}

    def use(name: str) -> TestClient:
        if name not in tokens:
            response = client.post("/api/v1/auth/token", data={"username": name, "password": password})
            assert response.status_code == 200, response.text
            tokens[name] = response.json()["access_token"]
        client.headers["Authorization"] = f"Bearer {tokens[name]}"
        return client

    return use
