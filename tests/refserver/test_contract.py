"""The contract: the committed nexus-api.yaml is what the server generates, and the server keeps it.

Conformance runs schemathesis (its CLI, as a subprocess) against a real server started for this test,
authenticated as admin: no 5xx, every status, content type, header and body as documented, and schema-
violating requests refused. `positive_data_acceptance` is left out on purpose: schemathesis reuses
generated Idempotency-Key values across different bodies, which the contract rightly answers with 422.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from nexus_refserver.cli import openapi_yaml
from tests.refserver.conftest import SMALL_SERVER_ARGS, login
from tests.support.refserver import RefServer

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "nexus_console" / "resources" / "nexus-api.yaml"
SEED_PATHS = {
    "/auth/login", "/auth/me", "/monitoring/api/health", "/monitoring/database/health",
    "/monitoring/sync/quality", "/analytics/users", "/analytics/vendors", "/analytics/content",
    "/analytics/revenue", "/admin/users", "/admin/users/{user_id}", "/admin/vendors",
    "/admin/vendors/{vendor_id}", "/admin/products", "/admin/products/{product_id}", "/alerts",
    "/alerts/{alert_id}/acknowledge", "/alerts/{alert_id}/resolve",
}  # fmt: skip
EXTENSION_PATHS = {
    "/monitoring/services", "/alerts/stream", "/audit", "/incidents", "/incidents/{incident_id}",
    "/incidents/{incident_id}/timeline", "/incidents/{incident_id}/timeline/{entry_id}",
    "/incidents/{incident_id}/alerts", "/incidents/{incident_id}/alerts/{alert_id}",
    "/incidents/{incident_id}/postmortem",
}  # fmt: skip


def contract() -> dict:
    return yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))


def test_committed_contract_equals_a_fresh_dump() -> None:
    assert CONTRACT.read_text(encoding="utf-8") == openapi_yaml(), (
        "nexus-api.yaml is stale: run `nexus-refserver --dump-openapi nexus_console/resources/nexus-api.yaml`"
    )


def test_the_cli_dump_writes_the_same_contract(tmp_path: Path) -> None:
    target = tmp_path / "api.yaml"
    subprocess.run(
        [sys.executable, "-m", "nexus_refserver", "--dump-openapi", str(target)], check=True, timeout=60
    )
    assert target.read_text(encoding="utf-8") == CONTRACT.read_text(encoding="utf-8")


def test_contract_covers_seed_paths_and_marks_extensions() -> None:
    spec = contract()
    assert spec["openapi"].startswith("3.1")
    paths = spec["paths"]
    assert set(paths) >= SEED_PATHS | EXTENSION_PATHS
    for path in SEED_PATHS:
        for method, operation in paths[path].items():
            assert not operation.get("x-nexus-extension"), f"{method.upper()} {path} is in seed 000"
    for path in EXTENSION_PATHS:
        for method, operation in paths[path].items():
            assert operation.get("x-nexus-extension") is True, f"{method.upper()} {path}"


def test_every_protected_operation_documents_its_problems_and_headers() -> None:
    spec = contract()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            responses = operation["responses"]
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], name
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if operation.get("security"):
                assert "401" in responses, name
                if path != "/auth/me":  # every role may read its own profile
                    assert "403" in responses, name
            if method == "get" and path != "/alerts/stream":
                assert "If-None-Match" in headers and "304" in responses, name
            if method in ("post", "patch", "put", "delete") and not path.startswith("/auth/"):
                assert "Idempotency-Key" in headers, name
            if method in ("patch", "put", "delete"):
                assert "If-Match" in headers and {"409", "412", "428"} <= set(responses), name


def test_role_matrix_is_written_in_the_contract() -> None:
    description = contract()["info"]["description"]
    for role in ("admin", "moderator", "finance", "analyst", "viewer"):
        assert f"- `{role}`:" in description
    revenue = contract()["paths"]["/analytics/revenue"]["get"]["description"]
    assert "admin, finance" in revenue and "analyst" not in revenue


def test_server_conforms_to_the_contract(refserver_factory: Callable[..., RefServer], tmp_path: Path) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS)
    token = login(server.base_url, "admin")["access_token"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(CONTRACT),
        "--url",
        server.base_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--exclude-path",
        "/alerts/stream",  # endless by design
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "5",
        # one worker: CPython 3.11's AST constructor is not thread-safe (gh-106905), and hypothesis parses
        # filter lambdas with it, so two workers fail at random with "recursion depth mismatch"
        "--workers",
        "1",
        "--seed",
        "20261123",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
