"""Admin tests: the PostgreSQL cluster and the reference server on it come from
tests/support/postgres_fixtures.py (registered for the whole run in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres_fixtures import (  # noqa: F401  (helpers the test modules import from here)
    ADMIN_EMAIL,
    DATABASES,
    DEMO_PASSWORD,
    PLATFORM_DATABASES,
    audit_counts_by_key,
    login,
    primary_rows,
    wait_for_replicas,
)


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite3"
