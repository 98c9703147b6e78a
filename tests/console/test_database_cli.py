"""`nexus-console database password NAME`: a database password is asked for and kept in the keychain only,
for a database the profile names (its replicas, or the monitoring DSN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_console import cli
from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore


def save_profile(monitoring: bool) -> None:
    profile = Profile(
        "lab",
        "http://127.0.0.1:9",
        replicas={"users": ("postgresql+psycopg://app@127.0.0.1:5433/users",)},
        monitoring_dsn="postgresql+psycopg://nexus_monitor@127.0.0.1:5432/users" if monitoring else None,
    )
    ProfileStore().save(ProfileBook({"lab": profile}, "lab"))


def test_a_database_password_is_asked_for_and_kept_in_the_keychain_only(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, memory_keyring: Any, isolated_dirs: dict[str, Path]
) -> None:
    save_profile(monitoring=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "db-s3cret")
    assert cli.main(["database", "password", "monitoring"]) == 2
    assert "has no database 'monitoring' (its databases: users)" in capsys.readouterr().err
    assert cli.main(["database", "password", "users"]) == 0
    assert capsys.readouterr().out.strip() == "Stored the password of users in the keychain."
    assert memory_keyring.get_password("nexus-console:lab", "database:users") == "db-s3cret"

    save_profile(monitoring=True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "mon-s3cret")
    assert cli.main(["database", "password", "monitoring"]) == 0
    assert "the monitoring role's password" in capsys.readouterr().out
    assert memory_keyring.get_password("nexus-console:lab", "database:monitoring") == "mon-s3cret"
    files = [p for d in isolated_dirs.values() for p in d.rglob("*") if p.is_file()]
    assert files and all(b"s3cret" not in p.read_bytes() for p in files)


def test_an_empty_password_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, memory_keyring: Any
) -> None:
    save_profile(monitoring=True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    assert cli.main(["database", "password", "users"]) == 2
    assert "nothing was stored" in capsys.readouterr().err
    assert memory_keyring.get_password("nexus-console:lab", "database:users") is None
