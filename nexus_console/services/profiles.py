"""Connection profiles in a TOML file in the platform config directory. No secrets live here."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import platformdirs
import tomli_w

APP_NAME = "nexus-console"
PROFILES_FILE = "profiles.toml"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME))


class ProfileError(ValueError):
    """A profile file that cannot be used; the text names the profile and the field."""


@dataclass(frozen=True, slots=True)
class TlsSettings:
    verify: bool = True
    ca_bundle: Path | None = None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where scheduled reports are mailed from; the password (when `username` is set) is in the keychain."""

    host: str
    sender: str
    port: int = 25
    username: str | None = None
    starttls: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    api_base_url: str
    email: str | None = None  # the last login name, not a secret
    # database name -> its replica DSNs without passwords, tried in order (failover)
    replicas: dict[str, tuple[str, ...]] = field(default_factory=dict)
    prometheus_url: str | None = None
    # a DSN (no password) for the Database pane with a monitoring role (pg_monitor), usually the primary;
    # its password is in the keychain under `database:monitoring`
    monitoring_dsn: str | None = None
    alertmanager_urls: tuple[str, ...] = ()  # every instance of an HA set; alerts are deduplicated
    tls: TlsSettings = field(default_factory=TlsSettings)
    smtp: SmtpSettings | None = None

    @property
    def keychain_service(self) -> str:
        return f"{APP_NAME}:{self.name}"

    def __post_init__(self) -> None:
        if not self.api_base_url.startswith(("http://", "https://")):
            raise ProfileError(f"profile {self.name!r}: api_base_url must be an http(s) URL")
        for replica, dsns in self.replicas.items():
            if isinstance(dsns, str) or not dsns:
                raise ProfileError(f"profile {self.name!r}: replica {replica!r} needs a list of DSNs")
            if any(dsn_has_password(dsn) for dsn in dsns):
                raise ProfileError(
                    f"profile {self.name!r}: replica {replica!r} DSN contains a password; "
                    f"remove it and run `nexus-console database password {replica}` to keep it in the "
                    "keychain"
                )
        if self.monitoring_dsn and dsn_has_password(self.monitoring_dsn):
            raise ProfileError(
                f"profile {self.name!r}: monitoring_dsn contains a password; "
                "remove it and run `nexus-console database password monitoring` to keep it in the keychain"
            )


def dsn_has_password(dsn: str) -> bool:
    """True for URL DSNs with user:password@ and for libpq key=value DSNs with password=."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return parts.password is not None or "password" in parse_qs(parts.query)
    return any(item.strip().lower().startswith("password=") for item in dsn.split())


@dataclass(slots=True)
class ProfileBook:
    profiles: dict[str, Profile]
    default: str | None = None

    def pick(self, name: str | None) -> Profile:
        """The named profile, else the default, else the only one."""
        wanted = name or self.default
        if wanted is not None:
            try:
                return self.profiles[wanted]
            except KeyError:
                known = ", ".join(sorted(self.profiles)) or "none"
                raise ProfileError(f"no profile named {wanted!r} (known: {known})") from None
        if len(self.profiles) == 1:
            return next(iter(self.profiles.values()))
        raise ProfileError("several profiles and no default: pass --profile NAME")


class ProfileStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / PROFILES_FILE

    def load(self) -> ProfileBook:
        if not self.path.exists():
            return ProfileBook({})
        try:
            raw = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{self.path.name}: {exc}") from None
        profiles = {name: _profile_from_toml(name, body) for name, body in raw.get("profiles", {}).items()}
        return ProfileBook(profiles, raw.get("default"))

    def save(self, book: ProfileBook) -> None:
        doc: dict[str, Any] = {}
        if book.default:
            doc["default"] = book.default
        doc["profiles"] = {name: _profile_to_toml(p) for name, p in book.profiles.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(doc), encoding="utf-8")
        tmp.replace(self.path)


def _profile_from_toml(name: str, body: dict[str, Any]) -> Profile:
    known = {
        "api_base_url", "email", "replicas", "prometheus_url", "monitoring_dsn", "alertmanager_urls", "tls",
        "smtp",
    }  # fmt: skip
    unknown = set(body) - known
    if unknown:
        raise ProfileError(f"profile {name!r}: unknown keys {sorted(unknown)}")
    if "api_base_url" not in body:
        raise ProfileError(f"profile {name!r}: api_base_url is required")
    tls = body.get("tls", {})
    ca_bundle = Path(tls["ca_bundle"]) if tls.get("ca_bundle") else None
    return Profile(
        name=name,
        api_base_url=str(body["api_base_url"]).rstrip("/"),
        email=body.get("email"),
        replicas={str(k): _url_list(v) for k, v in body.get("replicas", {}).items()},
        prometheus_url=body.get("prometheus_url"),
        monitoring_dsn=body.get("monitoring_dsn"),
        alertmanager_urls=_url_list(body.get("alertmanager_urls", [])),
        tls=TlsSettings(verify=bool(tls.get("verify", True)), ca_bundle=ca_bundle),
        smtp=_smtp_from_toml(name, body["smtp"]) if "smtp" in body else None,
    )


def _smtp_from_toml(name: str, body: dict[str, Any]) -> SmtpSettings:
    unknown = set(body) - {"host", "port", "sender", "username", "starttls"}
    if unknown:
        raise ProfileError(
            f"profile {name!r}: unknown smtp keys {sorted(unknown)} (the password goes in the keychain)"
        )
    if "host" not in body or "sender" not in body:
        raise ProfileError(f"profile {name!r}: smtp needs a host and a sender address")
    return SmtpSettings(
        host=str(body["host"]),
        sender=str(body["sender"]),
        port=int(body.get("port", 25)),
        username=body.get("username") or None,
        starttls=bool(body.get("starttls", False)),
    )


def _url_list(value: Any) -> tuple[str, ...]:
    """One URL or a list of them, in TOML."""
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _profile_to_toml(profile: Profile) -> dict[str, Any]:
    body: dict[str, Any] = {"api_base_url": profile.api_base_url}
    for key in ("email", "prometheus_url", "monitoring_dsn"):
        value = getattr(profile, key)
        if value:
            body[key] = value
    if profile.alertmanager_urls:
        body["alertmanager_urls"] = list(profile.alertmanager_urls)
    if profile.replicas:
        body["replicas"] = {name: list(dsns) for name, dsns in profile.replicas.items()}
    tls: dict[str, Any] = {"verify": profile.tls.verify}
    if profile.tls.ca_bundle:
        tls["ca_bundle"] = str(profile.tls.ca_bundle)
    body["tls"] = tls
    if profile.smtp is not None:
        smtp = profile.smtp
        body["smtp"] = {
            "host": smtp.host,
            "port": smtp.port,
            "sender": smtp.sender,
            "starttls": smtp.starttls,
        }
        if smtp.username:
            body["smtp"]["username"] = smtp.username
    return body
