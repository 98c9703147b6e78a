"""Staff accounts, scrypt password hashes, opaque access tokens and rotating refresh tokens.

Tokens are random strings handed to the client once; the database keeps only their SHA-256. A refresh
rotates: the old refresh token (and the access token issued with it) is revoked and a new pair issued.
Presenting a revoked refresh token again revokes the whole login family, as a stolen-token defence.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, delete, insert, select, update

from nexus_refserver.databases import as_utc
from nexus_refserver.roles import Permission, Role, permissions_for
from nexus_refserver.schema import staff, tokens

DEMO_DOMAIN = "nexus.test"
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


def hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return digest.hex()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    id: int
    email: str
    name: str
    roles: list[str]

    @property
    def permissions(self) -> set[Permission]:
        return permissions_for(self.roles)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    principal: Principal


MAX_CHECKED_TOKENS = 10_000


class AuthError(Exception):
    """Bad credentials or an invalid, expired or revoked token."""


class AuthService:
    def __init__(self, engine: Engine, access_ttl_s: float, refresh_ttl_s: float) -> None:
        self._engine = engine
        self._access_ttl = timedelta(seconds=access_ttl_s)
        self._refresh_ttl = timedelta(seconds=refresh_ttl_s)
        # serialises rotation so two refreshes with one token cannot both succeed
        self._lock = threading.Lock()
        # access tokens already checked: token hash -> (principal, expires_at). Every revocation goes
        # through this object and empties it, so a hit is as good as the database row; it saves two
        # queries on the event loop per request.
        self._checked: dict[str, tuple[Principal, datetime]] = {}
        # bumped by every revocation: a check that read the database before it does not cache
        self._revocations = 0
        self._checked_lock = threading.Lock()

    def ensure_demo_accounts(self, password: str) -> None:
        """One account per role, `<role>@nexus.test`; the password is re-hashed on every start."""
        with self._engine.begin() as conn:
            for index, role in enumerate(Role, start=1):
                salt = secrets.token_bytes(16)
                values = {
                    "email": f"{role.value}@{DEMO_DOMAIN}",
                    "name": f"Demo {role.value.capitalize()}",
                    "role": role.value,
                    "password_salt": salt.hex(),
                    "password_hash": hash_password(password, salt),
                }
                existing = conn.execute(select(staff.c.id).where(staff.c.id == index)).scalar_one_or_none()
                if existing is None:
                    conn.execute(insert(staff).values(id=index, **values))
                else:
                    conn.execute(update(staff).where(staff.c.id == index).values(**values))

    def purge_expired(self) -> int:
        """Delete tokens that expired; run at start-up so the table does not grow without bound."""
        with self._engine.begin() as conn:
            return conn.execute(delete(tokens).where(tokens.c.expires_at < datetime.now(UTC))).rowcount

    def login(self, email: str, password: str) -> IssuedTokens:
        with self._engine.connect() as conn:
            row = conn.execute(select(staff).where(staff.c.email == email.strip().lower())).first()
        if row is None:
            # spend the same time as a real check so the response does not reveal which emails exist
            hash_password(password, b"0" * 16)
            raise AuthError("invalid email or password")
        expected = row.password_hash
        if not hmac.compare_digest(hash_password(password, bytes.fromhex(row.password_salt)), expected):
            raise AuthError("invalid email or password")
        return self._issue(self._principal(row), secrets.token_hex(16))

    def refresh(self, refresh_token: str) -> IssuedTokens:
        now = datetime.now(UTC)
        # the failure is raised after the transaction commits, so a reuse's revocation is kept
        failure: str | None = None
        with self._lock, self._engine.begin() as conn:
            row = conn.execute(
                select(tokens).where(
                    and_(tokens.c.token_hash == _token_hash(refresh_token), tokens.c.kind == "refresh")
                )
            ).first()
            if row is None:
                failure = "unknown refresh token"
            elif row.revoked_at is not None:
                failure = "refresh token was already used or revoked"
            elif as_utc(row.expires_at) <= now:  # type: ignore[operator]
                failure = "refresh token expired"
            if row is not None and failure != "refresh token expired":
                # rotation on success, and on reuse of a spent token the whole login is revoked
                self._forget_checked()
                conn.execute(
                    update(tokens)
                    .where(and_(tokens.c.family == row.family, tokens.c.revoked_at.is_(None)))
                    .values(revoked_at=now)
                )
            if failure is None:
                account = conn.execute(select(staff).where(staff.c.id == row.staff_id)).one()  # type: ignore[union-attr]
        # again after the commit: a check that ran meanwhile may have cached a token just revoked
        self._forget_checked()
        if failure is not None:
            raise AuthError(failure)
        return self._issue(self._principal(account), row.family)  # type: ignore[union-attr]

    def logout(self, refresh_token: str) -> None:
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            row = conn.execute(
                select(tokens.c.family).where(
                    and_(tokens.c.token_hash == _token_hash(refresh_token), tokens.c.kind == "refresh")
                )
            ).first()
            if row is None:
                raise AuthError("unknown refresh token")
            self._forget_checked()
            conn.execute(
                update(tokens)
                .where(and_(tokens.c.family == row.family, tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
        self._forget_checked()

    def _forget_checked(self) -> None:
        with self._checked_lock:
            self._revocations += 1
            self._checked.clear()

    def authenticate(self, access_token: str) -> Principal:
        now = datetime.now(UTC)
        token_hash = _token_hash(access_token)
        checked = self._checked.get(token_hash)
        if checked is not None and checked[1] > now:
            return checked[0]
        revocations = self._revocations
        with self._engine.connect() as conn:
            row = conn.execute(
                select(tokens.c.staff_id, tokens.c.expires_at, tokens.c.revoked_at).where(
                    and_(tokens.c.token_hash == token_hash, tokens.c.kind == "access")
                )
            ).first()
            if row is None:
                raise AuthError("unknown access token")
            if row.revoked_at is not None:
                raise AuthError("access token revoked")
            if as_utc(row.expires_at) <= now:  # type: ignore[operator]
                raise AuthError("access token expired")
            account = conn.execute(select(staff).where(staff.c.id == row.staff_id)).one()
        principal = self._principal(account)
        with self._checked_lock:
            if len(self._checked) >= MAX_CHECKED_TOKENS:
                self._checked.clear()
            if revocations == self._revocations:
                self._checked[token_hash] = (principal, as_utc(row.expires_at))  # type: ignore[assignment]
        return principal

    def _issue(self, principal: Principal, family: str) -> IssuedTokens:
        now = datetime.now(UTC)
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(48)
        with self._engine.begin() as conn:
            conn.execute(
                insert(tokens),
                [
                    {
                        "token_hash": _token_hash(access),
                        "kind": "access",
                        "staff_id": principal.id,
                        "family": family,
                        "issued_at": now,
                        "expires_at": now + self._access_ttl,
                        "revoked_at": None,
                    },
                    {
                        "token_hash": _token_hash(refresh),
                        "kind": "refresh",
                        "staff_id": principal.id,
                        "family": family,
                        "issued_at": now,
                        "expires_at": now + self._refresh_ttl,
                        "revoked_at": None,
                    },
                ],
            )
        return IssuedTokens(
            access_token=access,
            refresh_token=refresh,
            expires_in=max(1, round(self._access_ttl.total_seconds())),
            refresh_expires_in=max(1, round(self._refresh_ttl.total_seconds())),
            principal=principal,
        )

    @staticmethod
    def _principal(row) -> Principal:  # type: ignore[no-untyped-def]
        return Principal(id=row.id, email=row.email, name=row.name, roles=[row.role])
