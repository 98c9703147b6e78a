"""Logs go to the platform log dir with tokens and passwords removed."""

from __future__ import annotations

import logging
from pathlib import Path

from nexus_console.services.logging_setup import (
    LOG_FILE,
    RedactingFilter,
    redact,
    register_secret,
    remove_handlers,
    setup_logging,
)
from nexus_console.services.profiles import log_dir


def test_bearer_tokens_and_password_fields_are_redacted() -> None:
    text = redact(
        'Authorization: Bearer abc.DEF-123 body={"email": "a@b.c", "password": "hunter22", '
        '"refresh_token": "rt-9f8e7d"} url=postgresql://app:pgpw@127.0.0.1/ops'
    )
    for secret in ("abc.DEF-123", "hunter22", "rt-9f8e7d", "pgpw"):
        assert secret not in text
    assert "a@b.c" in text


def test_a_registered_secret_is_removed_wherever_it_appears() -> None:
    register_secret("plain-words-secret-42")
    assert "plain-words-secret-42" not in redact("login failed for pw plain-words-secret-42 (retrying)")


def test_filter_redacts_arguments_and_exception_text() -> None:
    register_secret("tok-0123456789")
    try:
        raise RuntimeError("server refused tok-0123456789")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sent %s", ("tok-0123456789",), None)
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert "tok-0123456789" not in record.getMessage()
    assert record.exc_text is not None and "tok-0123456789" not in record.exc_text


def test_log_file_is_in_the_platform_log_dir_and_redacted(isolated_dirs: dict[str, Path]) -> None:
    handlers = setup_logging(log_dir(), stream=None)
    try:
        register_secret("very-secret-password")
        logging.getLogger("nexus_console.test").warning("typed %s", "very-secret-password")
    finally:
        remove_handlers(handlers)
    path = log_dir() / LOG_FILE
    assert path.is_relative_to(isolated_dirs["state"]) or path.is_relative_to(isolated_dirs["cache"])
    content = path.read_text(encoding="utf-8")
    assert "typed [redacted]" in content
    assert "very-secret-password" not in content


def test_the_list_of_known_secrets_stays_bounded_over_a_long_session() -> None:
    from nexus_console.services import logging_setup

    for i in range(1000):
        register_secret(f"rotated-token-{i:04d}")
    assert len(logging_setup._known_secrets) <= 256
    assert "rotated-token-0999" not in redact("newest rotated-token-0999")
