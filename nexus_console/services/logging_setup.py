"""Logging to the platform log directory, with secrets removed from every record."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
from pathlib import Path
from typing import TextIO

LOG_FILE = "console.log"
REDACTED = "[redacted]"

_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"""(?i)(["']?(?:access_token|refresh_token|password|passwd|secret|authorization)["']?\s*[:=]\s*["']?)"""
        r"""[^"'\s,&}]+"""
    ),
    re.compile(r"(?i)(://[^/\s:@]+:)[^@\s/]+(@)"),
]

# The newest secrets seen (tokens rotate every few minutes on a wall display that runs for weeks).
_MAX_KNOWN_SECRETS = 256
_known_secrets: dict[str, None] = {}
_known_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Remember a secret value (a typed password, a token) so that it is removed wherever it appears."""
    if secret and len(secret) >= 4:
        with _known_lock:
            _known_secrets.pop(secret, None)
            _known_secrets[secret] = None
            while len(_known_secrets) > _MAX_KNOWN_SECRETS:
                del _known_secrets[next(iter(_known_secrets))]


def redact(text: str) -> str:
    with _known_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED + (m.group(2) if m.re.groups > 1 else ""), text)
    return text


class RedactingFilter(logging.Filter):
    """Renders each record's message once, redacted, so no handler sees the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Last line of defence: the formatted text is redacted too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(
    log_dir: Path, *, level: int = logging.INFO, stream: TextIO | None = sys.stderr
) -> list[logging.Handler]:
    """Install a rotating file handler (and a stream handler) on the root logger; returns them."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / LOG_FILE, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if stream is not None:
        handlers.append(logging.StreamHandler(stream))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO; keep the file readable.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return handlers


def remove_handlers(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
