"""`nexus-console report list|run`: a saved report written without a window for cron, signed in from the
keychain, delivered by mail, and an exit code that says what went wrong."""

from __future__ import annotations

import asyncio
import csv
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nexus_console import report_cli
from nexus_console.domain.reports import ReportSpec
from nexus_console.services.auth import AuthSession, Credentials
from nexus_console.services.http import build_http_client
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore, SmtpSettings, TlsSettings
from nexus_console.services.report_store import ReportStore
from tests.console.api_support import DEMO_PASSWORD
from tests.support.refserver import RefServer
from tests.support.smtp import free_port, smtp_server

DAILY = ReportSpec("Daily orders", metrics=("orders", "units"), dimensions=("day",), days=7, format="csv")
DAILY_REVENUE = ReportSpec("Daily revenue", metrics=("revenue",), dimensions=("day",), days=7, format="csv")


def save_profile(base_url: str, smtp: SmtpSettings | None = None) -> None:
    ProfileStore().save(ProfileBook({"lab": Profile("lab", base_url, smtp=smtp)}, default="lab"))


def remember_sign_in(base_url: str, email: str) -> None:
    async def sign_in() -> None:
        http = build_http_client(TlsSettings())
        try:
            await AuthSession(base_url, http, Keychain("nexus-console:lab")).login(
                Credentials(email, DEMO_PASSWORD, remember=True)
            )
        finally:
            await http.aclose()

    asyncio.run(sign_in())


def orders_by_day(server: RefServer, date_from: str, date_to: str) -> dict[str, int]:
    """Orders a day in [from, to), from the server's own database (days without orders have no row)."""
    path = server.data_dir / "marketplace.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        placed = [row[0][:10] for row in db.execute("SELECT placed_at FROM orders")]
    return dict(Counter(day for day in placed if date_from <= day < date_to))


def run_cli(*argv: str, capsys: Any) -> tuple[int, str, str]:
    code = report_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_saved_report_runs_headless_with_an_exit_code_for_each_failure(
    refserver_session: RefServer, tmp_path: Path, capsys: Any
) -> None:
    store = ReportStore()
    store.save(DAILY)
    store.save(DAILY_REVENUE)
    save_profile(refserver_session.base_url)

    code, out, _ = run_cli("list", capsys=capsys)
    assert code == 0 and "Daily orders\n  Orders, Units by Day · last 7 days · csv\n  not scheduled" in out

    code, _, err = run_cli("run", "Nope", "--out", str(tmp_path), capsys=capsys)
    assert code == 2 and "No report named “Nope”" in err

    code, _, err = run_cli("run", "Daily orders", "--out", str(tmp_path), capsys=capsys)
    assert code == 3 and "sign in once in the console with “Remember me”" in err

    remember_sign_in(refserver_session.base_url, "analyst@nexus.test")
    code, out, _ = run_cli("run", "Daily orders", "--out", str(tmp_path), capsys=capsys)
    assert code == 0, out
    (written,) = tmp_path.glob("daily_orders_*.csv")
    rows = list(csv.reader(written.open(encoding="utf-8")))
    assert rows[0] == ["Day", "Orders", "Units"]
    date_from, date_to = written.stem.split("_")[-2:]
    assert {day: int(n) for day, n, _ in rows[1:]} == orders_by_day(refserver_session, date_from, date_to)
    assert out.startswith(f"Wrote {len(rows) - 1} rows of {date_from} to {date_to}") and str(written) in out

    code, _, err = run_cli("run", "Daily revenue", "--out", str(tmp_path), capsys=capsys)
    assert code == 3 and "finance" in err  # the server refuses revenue to an analyst, and says who may

    code, _, err = run_cli("run", "Daily orders", "--out", str(tmp_path / "missing" / "x.csv"), capsys=capsys)
    assert code == 5 and "Could not write" in err
    assert not list((tmp_path).glob("**/*.part")), "no half file"

    store.save(ReportSpec("Mailed", metrics=("orders",), days=7, format="xlsx", email_to=("ops@nexus.test",)))
    save_profile(
        refserver_session.base_url, SmtpSettings("127.0.0.1", "reports@nexus.test", port=free_port())
    )
    code, _, err = run_cli("run", "Mailed", "--out", str(tmp_path / "mailed.xlsx"), capsys=capsys)
    assert code == 6 and "Wrote 1 rows to" in err and "Could not send mail through 127.0.0.1:" in err
    with smtp_server() as mail:
        save_profile(
            refserver_session.base_url, SmtpSettings("127.0.0.1", "reports@nexus.test", port=mail.port)
        )
        code, out, _ = run_cli("run", "Mailed", "--out", str(tmp_path / "mailed.xlsx"), capsys=capsys)
    assert code == 0 and out.rstrip().endswith("mailed to ops@nexus.test.")
    assert [a.get_filename() for m in mail.messages for a in m.iter_attachments()] == ["mailed.xlsx"]

    save_profile(f"http://127.0.0.1:{free_port()}")
    code, _, err = run_cli("run", "Daily orders", "--out", str(tmp_path), capsys=capsys)
    assert code == 4 and "did not answer" in err


@pytest.mark.secret_service
def test_the_report_command_signs_in_from_the_real_keychain_as_cron_would_run_it(
    refserver_session: RefServer, secret_service: Any, tmp_path: Path, isolated_dirs: dict[str, Path]
) -> None:
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(secret_service)
    try:
        remember_sign_in(refserver_session.base_url, "finance@nexus.test")
    finally:
        keyring.set_keyring(previous)
    ReportStore().save(DAILY_REVENUE)
    save_profile(refserver_session.base_url)
    out = tmp_path / "revenue.pdf"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = ["report", "run", "Daily revenue", "--out", str(out), "--format", "pdf"]
    done = subprocess.run(
        [sys.executable, "-m", "nexus_console", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Wrote ") and out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Daily revenue" in text and "Revenue (USD)" in text


def test_the_smtp_password_is_asked_for_and_kept_in_the_keychain_only(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, memory_keyring: Any, isolated_dirs: dict[str, Path]
) -> None:
    save_profile("http://127.0.0.1:9")
    monkeypatch.setattr("getpass.getpass", lambda prompt: "mail-s3cret")
    code, _, err = run_cli("smtp-password", capsys=capsys)
    assert code == 2 and "has no SMTP login" in err
    save_profile("http://127.0.0.1:9", SmtpSettings("127.0.0.1", "reports@nexus.test", username="mailer"))
    code, out, _ = run_cli("smtp-password", capsys=capsys)
    assert code == 0 and out.strip() == "Stored the SMTP password of mailer in the keychain."
    assert memory_keyring.get_password("nexus-console:lab", "smtp:mailer") == "mail-s3cret"
    files = [p for d in isolated_dirs.values() for p in d.rglob("*") if p.is_file()]
    assert files and all(b"mail-s3cret" not in p.read_bytes() for p in files)
