"""Schemathesis against the served OpenAPI document: no generated input, valid or not, makes a 500."""

from functools import partial
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from sqlalchemy import Engine

from tests.api.conftest import make_app, token_for

# The live stream never ends (its own tests read it); everything else is fuzzed, as the bureau administrator, who
# reaches every route, and as station staff, who hit the scope checks. Logout would revoke the tokens every other
# route is fuzzed with (its own tests are in test_tokens.py).
SKIP = {("GET", "/api/v1/alerts/stream"), ("POST", "/api/v1/auth/logout")}
EXAMPLES = 12


def _strategy(operation: Any, mode: GenerationMode) -> Any:
    return operation.as_strategy(generation_mode=mode)


def test_no_generated_request_gets_a_server_error(fleet_engine: Engine, tmp_path: Path) -> None:
    app = make_app(fleet_engine, tmp_path)
    with TestClient(app) as client:  # runs the lifespan, which schemathesis's own calls then share
        headers = {user: {"Authorization": f"Bearer {token_for(client, user)}"} for user in ("admin", "staff-hl1")}
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        failures: list[str] = []
        operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]  # Err would raise
        assert len(operations) >= 15
        for operation in operations:
            if (operation.method.upper(), operation.path) in SKIP:
                continue
            modes = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
            strategy = modes.flatmap(partial(_strategy, operation))

            @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy, user=st.sampled_from(sorted(headers)))
            def fuzz(case: schemathesis.Case, user: str) -> None:
                response = case.call(headers=headers[user])
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{case.as_curl_command()}")

            fuzz()
        assert failures == []
