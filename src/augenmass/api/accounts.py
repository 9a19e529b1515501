"""Users and API tokens in the store: used by the server and by `augenmass user|token`.

Passwords are argon2 hashes; API tokens are shown once at creation and kept as SHA-256 digests
(a token is 256 random bits, so a slow hash would add nothing but CPU per request).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from augenmass.store.auth_schema import api_tokens, sessions, users

ROLES = ("viewer", "operator", "admin")  # each includes the rights of the ones before it
SCOPES = ("read", "write", "submit")
TOKEN_PREFIX = "am_"
MAX_NAME = 100
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps a megabyte "password" cheap to refuse

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified for unknown names too, so the answer time does not tell which names exist."""
    return _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    name: str
    scopes: frozenset[str]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def check_name(name: str) -> str:
    if not name or len(name) > MAX_NAME or not name.isprintable() or name.strip() != name:
        raise AccountError("a name must be 1-100 printable characters without outer spaces")
    return name


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = scopes - set(SCOPES)
    if not scopes or unknown:
        raise AccountError(f"scopes must be a comma-separated subset of {','.join(SCOPES)}")
    return scopes


def hash_password(password: str) -> str:
    if not password or len(password) > MAX_PASSWORD:
        raise AccountError(f"a password must be 1-{MAX_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """CPU-heavy (argon2): call it in a worker thread from async code."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        ok = _hasher.verify(stored_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def _user(row: Any) -> User:
    return User(int(row.id), row.name, row.role)


async def add_user(eng: AsyncEngine, name: str, password: str, role: str) -> User:
    check_name(name)
    check_role(role)
    pw_hash = hash_password(password)
    async with eng.begin() as conn:
        found = await conn.scalar(sa.select(users.c.id).where(users.c.name == name))
        if found is not None:
            raise AccountError(f"user {name!r} exists already")
        res = await conn.execute(
            sa.insert(users).values(
                name=name, password_hash=pw_hash, role=role, created=time.time()
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        return User(int(pk[0]), name, role)


async def get_user(eng: AsyncEngine, name: str) -> tuple[User, str] | None:
    """The user and the stored password hash."""
    q = sa.select(users.c.id, users.c.name, users.c.role, users.c.password_hash)
    async with eng.connect() as conn:
        row = (await conn.execute(q.where(users.c.name == name))).first()
    return None if row is None else (_user(row), row.password_hash)


async def list_users(eng: AsyncEngine) -> list[User]:
    q = sa.select(users.c.id, users.c.name, users.c.role).order_by(users.c.name)
    async with eng.connect() as conn:
        return [_user(r) for r in await conn.execute(q)]


async def set_password(
    eng: AsyncEngine, name: str, password: str, keep_session: str | None = None
) -> None:
    """Change a password; every session of the user ends except `keep_session` (an id hash)."""
    pw_hash = hash_password(password)
    await _update_user(eng, name, {"password_hash": pw_hash}, keep_session)


async def set_role(eng: AsyncEngine, name: str, role: str) -> None:
    """Change a role; all of the user's sessions end, so the new rights apply at once."""
    await _update_user(eng, name, {"role": check_role(role)}, None)


async def _update_user(
    eng: AsyncEngine, name: str, values: dict[str, str], keep_session: str | None
) -> None:
    async with eng.begin() as conn:
        uid = await conn.scalar(sa.select(users.c.id).where(users.c.name == name))
        if uid is None:
            raise AccountError(f"no user {name!r}")
        await conn.execute(sa.update(users).where(users.c.id == uid).values(**values))
        q = sa.delete(sessions).where(sessions.c.user_id == uid)
        if keep_session is not None:
            q = q.where(sessions.c.id_hash != keep_session)
        await conn.execute(q)


async def delete_user(eng: AsyncEngine, name: str) -> None:
    async with eng.begin() as conn:
        uid = await conn.scalar(sa.select(users.c.id).where(users.c.name == name))
        if uid is None:
            raise AccountError(f"no user {name!r}")
        await conn.execute(sa.delete(sessions).where(sessions.c.user_id == uid))
        await conn.execute(sa.delete(users).where(users.c.id == uid))


async def create_token(eng: AsyncEngine, name: str, scopes: frozenset[str]) -> str:
    """Create an API token; the returned secret is shown once and never stored."""
    check_name(name)
    if not scopes or scopes - set(SCOPES):
        raise AccountError(f"scopes must be a subset of {','.join(SCOPES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with eng.begin() as conn:
        found = await conn.scalar(sa.select(api_tokens.c.id).where(api_tokens.c.name == name))
        if found is not None:
            raise AccountError(f"token {name!r} exists already")
        await conn.execute(
            sa.insert(api_tokens).values(
                name=name,
                token_hash=digest(secret),
                scopes=",".join(sorted(scopes)),
                created=time.time(),
            )
        )
    return secret


async def revoke_token(eng: AsyncEngine, name: str) -> None:
    async with eng.begin() as conn:
        res = await conn.execute(sa.delete(api_tokens).where(api_tokens.c.name == name))
    if not res.rowcount:
        raise AccountError(f"no token {name!r}")


async def list_tokens(eng: AsyncEngine) -> list[Token]:
    t = api_tokens.c
    async with eng.connect() as conn:
        rows = await conn.execute(sa.select(t.id, t.name, t.scopes).order_by(t.name))
        return [Token(int(r.id), r.name, frozenset(r.scopes.split(","))) for r in rows]


async def find_token(eng: AsyncEngine, secret: str) -> Token | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    t = api_tokens.c
    q = sa.select(t.id, t.name, t.scopes).where(t.token_hash == digest(secret))
    async with eng.connect() as conn:
        row = (await conn.execute(q)).first()
    return None if row is None else Token(int(row.id), row.name, frozenset(row.scopes.split(",")))
