"""A report by e-mail through a real SMTP server on 127.0.0.1: the attachment arrives whole, a login uses the
password from the keychain, and every failure is a sentence."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import SmtpSettings
from nexus_console.services.report_mail import MailError, send_report_mail, smtp_password_key
from tests.support.smtp import free_port, smtp_server


def test_a_report_arrives_with_its_attachment(tmp_path: Path) -> None:
    report = tmp_path / "weekly.xlsx"
    report.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    with smtp_server() as sink:
        settings = SmtpSettings("127.0.0.1", "reports@nexus.test", port=sink.port)
        asyncio.run(
            send_report_mail(
                settings, None, ["ops@nexus.test", "cfo@nexus.test"], "Weekly", "Attached.", report
            )
        )
    (message,) = sink.messages
    assert sink.recipients == [["ops@nexus.test", "cfo@nexus.test"]]
    assert message["Subject"] == "Weekly" and message["From"] == "reports@nexus.test"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "weekly.xlsx"
    assert (
        attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert attachment.get_content() == report.read_bytes()


def test_a_login_takes_the_password_from_the_keychain(tmp_path: Path) -> None:
    report = tmp_path / "daily.csv"
    report.write_text("Day,Orders\n2026-10-01,3\n")
    keychain = Keychain("nexus-console:lab")
    with smtp_server(login=("mailer", "s3cret-mail")) as sink:
        settings = SmtpSettings("127.0.0.1", "reports@nexus.test", port=sink.port, username="mailer")
        with pytest.raises(MailError, match="The SMTP password of mailer is not in the keychain"):
            asyncio.run(send_report_mail(settings, keychain, ["ops@nexus.test"], "Daily", "", report))
        asyncio.run(keychain.set(smtp_password_key("mailer"), "wrong"))
        with pytest.raises(
            MailError, match=r"The mail server 127\.0\.0\.1 refused the login of mailer"
        ) as refused:
            asyncio.run(send_report_mail(settings, keychain, ["ops@nexus.test"], "Daily", "", report))
        assert "wrong" not in str(refused.value)
        asyncio.run(keychain.set(smtp_password_key("mailer"), "s3cret-mail"))
        asyncio.run(send_report_mail(settings, keychain, ["ops@nexus.test"], "Daily", "", report))
    assert [m["Subject"] for m in sink.messages] == ["Daily"]


def test_a_mail_server_that_is_not_there_is_named(tmp_path: Path) -> None:
    report = tmp_path / "r.csv"
    report.write_text("a\n")
    port = free_port()
    settings = SmtpSettings("127.0.0.1", "reports@nexus.test", port=port)
    with pytest.raises(MailError, match=f"Could not send mail through 127.0.0.1:{port}"):
        asyncio.run(send_report_mail(settings, None, ["ops@nexus.test"], "x", "", report))
