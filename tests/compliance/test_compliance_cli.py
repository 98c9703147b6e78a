"""`nexus-console compliance export|verify` on the reference server: the admin audit of a period exported
with its hash chain (the entries checked against the server's own audit table), verified, tampered with and
refused at the right entry, as PDF too; the PCI scan of the demo's SQLite replicas; exit codes."""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from nexus_console import compliance_cli
from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore
from tests.console.api_support import DEMO_PASSWORD
from tests.console.test_report_cli import remember_sign_in
from tests.support.refserver import RefServer


def run_cli(*argv: str, capsys: Any) -> tuple[int, str, str]:
    code = compliance_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def admin_token(server: RefServer) -> str:
    return str(
        httpx.post(
            f"{server.base_url}/auth/login", json={"email": "admin@nexus.test", "password": DEMO_PASSWORD}
        ).json()["access_token"]
    )


def reset_passwords(server: RefServer, user_ids: list[int]) -> None:
    token = admin_token(server)
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        for user_id in user_ids:
            version = client.get(f"/admin/users/{user_id}").json()["version"]
            response = client.patch(
                f"/admin/users/{user_id}",
                json={"action": "reset_password", "reason": "compliance test"},
                headers={"Idempotency-Key": str(uuid.uuid4()), "If-Match": f'"v{version}"'},
            )
            assert response.status_code == 200, response.text


def audit_ids_between(server: RefServer, start: str, end: str) -> list[str]:
    with sqlite3.connect(f"file:{server.data_dir / 'nexus.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, at FROM audit_log ORDER BY at, id").fetchall()
    return [str(row_id) for row_id, at in rows if start <= at[:10] < end]


def test_the_admin_audit_exports_with_a_chain_that_verifies_and_catches_a_changed_byte(
    refserver_session: RefServer, tmp_path: Path, capsys: Any
) -> None:
    ProfileStore().save(ProfileBook({"lab": Profile("lab", refserver_session.base_url)}, default="lab"))
    today = datetime.now(UTC).date()
    start, end = today.isoformat(), (today + timedelta(days=1)).isoformat()
    out = tmp_path / "audit.csv"
    code, _, err = run_cli(
        "export", "admin-audit", "--from", start, "--to", end, "--out", str(out), capsys=capsys
    )
    assert code == 3 and "Remember me" in err and not out.exists()

    remember_sign_in(refserver_session.base_url, "admin@nexus.test")
    reset_passwords(refserver_session, [3, 4, 5])
    code, text, _ = run_cli(
        "export", "admin-audit", "--from", start, "--to", end, "--out", str(out), capsys=capsys
    )
    assert code == 0, text
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    expected = audit_ids_between(refserver_session, start, end)
    assert len(expected) >= 3 and [row[1] for row in rows[2:-1]] == expected  # seq, then the audit id
    assert rows[-1][:2] == ["END", str(len(expected))] and f"chain head {rows[-1][2]}" in text

    code, text, _ = run_cli("verify", str(out), capsys=capsys)
    assert code == 0 and text.startswith(f"Verified: {len(expected)} entries of admin-audit, complete")

    ours = [row[0] for row in rows[2:-1] if "compliance test" in row]  # the seq of our three entries
    content = out.read_bytes()
    second = content.index(b"compliance test", content.index(b"compliance test") + 1)
    out.write_bytes(content[:second] + b"C" + content[second + 1 :])  # one byte of our second entry
    code, text, _ = run_cli("verify", str(out), capsys=capsys)
    assert code == 1 and f"entry {ours[1]} does not match its hash" in text

    pdf = tmp_path / "audit.pdf"
    code, text, _ = run_cli(
        "export",
        "admin-audit",
        "--from",
        start,
        "--to",
        end,
        "--out",
        str(pdf),
        "--format",
        "pdf",
        capsys=capsys,
    )
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF") and f"{len(expected)} entries" in text

    register = tmp_path / "register.csv"
    code, text, _ = run_cli("export", "dsar-register", "--out", str(register), capsys=capsys)
    assert code == 0 and "open requests" in text
    requests = httpx.get(
        f"{refserver_session.base_url}/compliance/dsar",
        headers={"Authorization": f"Bearer {admin_token(refserver_session)}"},
    ).json()["requests"]
    code, text, _ = run_cli("verify", str(register), capsys=capsys)
    assert code == 0 and f"Verified: {len(requests)} entries of dsar-register" in text


def test_the_pci_scan_exports_from_the_profiles_replicas(
    refserver_session: RefServer, tmp_path: Path, capsys: Any
) -> None:
    replicas = {
        name: (f"sqlite:///{refserver_session.data_dir / (name + '.sqlite3')}",)
        for name in ("users", "marketplace")
    }
    ProfileStore().save(
        ProfileBook({"lab": Profile("lab", refserver_session.base_url, replicas=replicas)}, default="lab")
    )
    code, text, _ = run_cli("export", "pci-scan", "--out", str(tmp_path), capsys=capsys)
    assert code == 0, text
    (written,) = tmp_path.glob("pci-scan_*.csv")
    assert "passed: no card numbers" in text and "text columns in users, marketplace" in text
    code, text, _ = run_cli("verify", str(written), capsys=capsys)
    assert code == 0 and "0 entries of pci-scan" in text


def test_the_access_review_lists_every_platform_role_an_account_holds(
    refserver_session: RefServer, tmp_path: Path, capsys: Any
) -> None:
    replicas = {"users": (f"sqlite:///{refserver_session.data_dir / 'users.sqlite3'}",)}
    ProfileStore().save(
        ProfileBook({"lab": Profile("lab", refserver_session.base_url, replicas=replicas)}, default="lab")
    )
    out = tmp_path / "access.csv"
    code, text, _ = run_cli("export", "access-review", "--out", str(out), capsys=capsys)
    assert code == 0, text
    with sqlite3.connect(f"file:{refserver_session.data_dir / 'users.sqlite3'}?mode=ro", uri=True) as db:
        held = [
            (str(user_id), platform, role)
            for user_id, access in db.execute(
                "SELECT id, platform_access FROM users WHERE platform_access IS NOT NULL"
            )
            for platform, role in json.loads(access).items()
        ]
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert sorted((row[1], row[4], row[5]) for row in rows[2:-1]) == sorted(held) and held
    code, text, _ = run_cli("verify", str(out), capsys=capsys)
    assert code == 0 and f"Verified: {len(held)} entries of access-review" in text


def test_bad_arguments_are_usage_errors(refserver_session: RefServer, tmp_path: Path, capsys: Any) -> None:
    ProfileStore().save(ProfileBook({"lab": Profile("lab", refserver_session.base_url)}, default="lab"))
    code, _, err = run_cli(
        "export", "admin-audit", "--from", "2026-12-07", "--out", str(tmp_path), capsys=capsys
    )
    assert code == 2 and "admin-audit needs --to YYYY-MM-DD" in err
    code, _, err = run_cli(
        "export",
        "admin-audit",
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-01",
        "--out",
        str(tmp_path),
        capsys=capsys,
    )
    assert code == 2 and "must be before --to" in err
    code, _, err = run_cli("export", "pci-scan", "--out", str(tmp_path), capsys=capsys)
    assert code == 2 and "has no database replicas configured" in err
    code, _, err = run_cli("verify", str(tmp_path / "missing.csv"), capsys=capsys)
    assert code == 2 and "Could not read" in err
