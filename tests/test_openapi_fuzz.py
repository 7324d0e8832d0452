"""Schemathesis against the live OpenAPI document: no 5xx, and every response matches the
schema it documents — signed in as a citizen who owns a record, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sync.ids import new_id
from tests.conftest import LiveServer, database_for, start_server

EXAMPLES_PER_OPERATION = 40
examples_run: dict[str, int] = {}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[LiveServer, str]]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with start_server(tmp, database_for(request, request.param, tmp)) as server:
        signup = httpx.post(f"{server.url}/v1/auth/signup", json={
            "phone": "0909999999", "password": "fuzzing-password", "campaign_id": "demo",
            "device_id": new_id()})
        assert signup.status_code == 200, signup.text
        yield server, signup.json()["token"]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    total = examples_run.pop(request.param, 0)
    if reporter is not None:
        reporter.write_line(f"schemathesis ({request.param}): {total} requests")


def test_api(fuzz_server: tuple[LiveServer, str], request: pytest.FixtureRequest) -> None:
    # Operations are driven here rather than with schemathesis' pytest plugin, whose lazy
    # fixture loader relies on pytest internals that pytest 9 removed.
    server, token = fuzz_server
    engine = request.node.callspec.params["fuzz_server"]
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            examples_run[engine] = examples_run.get(engine, 0) + 1
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, response.text)
            case.validate_response(response, checks=[
                status_code_conformance, content_type_conformance,
                response_schema_conformance])

        exercise()
