"""A report by e-mail: the file as an attachment, sent over the profile's SMTP server with the standard
library's `smtplib` on a worker thread (STARTTLS and login when the profile asks; the password only from the
keychain)."""

from __future__ import annotations

import asyncio
import mimetypes
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import SmtpSettings

SMTP_TIMEOUT_S = 30.0
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MailError(Exception):
    """Why a report could not be mailed, as a sentence."""


def smtp_password_key(username: str) -> str:
    return f"smtp:{username}"


def report_message(sender: str, to: Sequence[str], subject: str, body: str, attachment: Path) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    kind = XLSX_TYPE if attachment.suffix == ".xlsx" else mimetypes.guess_type(attachment.name)[0]
    maintype, subtype = (kind or "application/octet-stream").split("/", 1)
    message.add_attachment(
        attachment.read_bytes(), maintype=maintype, subtype=subtype, filename=attachment.name
    )
    return message


def send_blocking(settings: SmtpSettings, password: str | None, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                if password is None:
                    raise MailError(
                        f"The SMTP password of {settings.username} is not in the keychain: store it with "
                        "`nexus-console report smtp-password`."
                    )
                smtp.login(settings.username, password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise MailError(
            f"The mail server {settings.host} refused the login of {settings.username}."
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise MailError(f"The mail server {settings.host} refused the recipients {refused}.") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"Could not send mail through {settings.host}:{settings.port}: {exc}.") from None


async def send_report_mail(
    settings: SmtpSettings,
    keychain: Keychain | None,
    to: Sequence[str],
    subject: str,
    body: str,
    attachment: Path,
) -> None:
    password = None
    if settings.username and keychain is not None:
        password = await keychain.get(smtp_password_key(settings.username))
    message = report_message(settings.sender, to, subject, body, attachment)
    await asyncio.to_thread(send_blocking, settings, password, message)
