"""Users, API tokens and sessions: the queries behind logins and `augenmass user|token`.

Only digests and hashes reach these tables (see auth_schema); hashing and the rules for names,
roles and timeouts live with the callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from augenmass.store.auth_schema import api_tokens, sessions, users
from augenmass.store.store import Store


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    role: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class SessionRow:
    id_hash: str
    user_id: int
    user_name: str
    role: str
    csrf_token: str
    created: float
    last_seen: float


def _user(row: Any) -> UserRow:
    return UserRow(int(row.id), row.name, row.role, row.password_hash)


def _token(row: Any) -> TokenRow:
    return TokenRow(int(row.id), row.name, frozenset(row.scopes.split(",")))


async def insert_user(
    store: Store, name: str, password_hash: str, role: str, created: float
) -> int | None:
    """The new user's id; None when the name is taken."""
    async with store.engine.begin() as conn:
        found = await conn.scalar(sa.select(users.c.id).where(users.c.name == name))
        if found is not None:
            return None
        res = await conn.execute(
            sa.insert(users).values(
                name=name, password_hash=password_hash, role=role, created=created
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        return int(pk[0])


async def user_by_name(store: Store, name: str) -> UserRow | None:
    u = users.c
    q = sa.select(u.id, u.name, u.role, u.password_hash).where(u.name == name)
    async with store.engine.connect() as conn:
        row = (await conn.execute(q)).first()
    return None if row is None else _user(row)


async def all_users(store: Store) -> list[UserRow]:
    u = users.c
    q = sa.select(u.id, u.name, u.role, u.password_hash).order_by(u.name)
    async with store.engine.connect() as conn:
        return [_user(r) for r in await conn.execute(q)]


async def update_user(
    store: Store, name: str, values: dict[str, str], keep_session: str | None
) -> bool:
    """Change columns of a user and end their sessions except `keep_session` (an id hash);
    False when there is no such user."""
    async with store.engine.begin() as conn:
        uid = await conn.scalar(sa.select(users.c.id).where(users.c.name == name))
        if uid is None:
            return False
        await conn.execute(sa.update(users).where(users.c.id == uid).values(**values))
        q = sa.delete(sessions).where(sessions.c.user_id == uid)
        if keep_session is not None:
            q = q.where(sessions.c.id_hash != keep_session)
        await conn.execute(q)
    return True


async def delete_user(store: Store, name: str) -> bool:
    """Delete a user and their sessions; False when there is no such user."""
    async with store.engine.begin() as conn:
        uid = await conn.scalar(sa.select(users.c.id).where(users.c.name == name))
        if uid is None:
            return False
        await conn.execute(sa.delete(sessions).where(sessions.c.user_id == uid))
        await conn.execute(sa.delete(users).where(users.c.id == uid))
    return True


async def insert_token(
    store: Store, name: str, token_hash: str, scopes: frozenset[str], created: float
) -> bool:
    """False when the name is taken."""
    async with store.engine.begin() as conn:
        found = await conn.scalar(sa.select(api_tokens.c.id).where(api_tokens.c.name == name))
        if found is not None:
            return False
        await conn.execute(
            sa.insert(api_tokens).values(
                name=name,
                token_hash=token_hash,
                scopes=",".join(sorted(scopes)),
                created=created,
            )
        )
    return True


async def delete_token(store: Store, name: str) -> bool:
    """False when there is no such token."""
    async with store.engine.begin() as conn:
        res = await conn.execute(sa.delete(api_tokens).where(api_tokens.c.name == name))
    return bool(res.rowcount)


async def all_tokens(store: Store) -> list[TokenRow]:
    t = api_tokens.c
    async with store.engine.connect() as conn:
        return [
            _token(r)
            for r in await conn.execute(sa.select(t.id, t.name, t.scopes).order_by(t.name))
        ]


async def token_by_hash(store: Store, token_hash: str) -> TokenRow | None:
    t = api_tokens.c
    q = sa.select(t.id, t.name, t.scopes).where(t.token_hash == token_hash)
    async with store.engine.connect() as conn:
        row = (await conn.execute(q)).first()
    return None if row is None else _token(row)


async def insert_session(
    store: Store,
    id_hash: str,
    user_id: int,
    csrf_token: str,
    now: float,
    *,
    idle_before: float,
    created_before: float,
    max_per_user: int = 0,
) -> None:
    """Add a session; in the same transaction drop the ones idle since before `idle_before` or
    created before `created_before` (abandoned cookies may never come back to be checked), and
    the user's oldest beyond `max_per_user` (0: no cap)."""
    s = sessions.c
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.delete(sessions).where((s.last_seen < idle_before) | (s.created < created_before))
        )
        await conn.execute(
            sa.insert(sessions).values(
                id_hash=id_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created=now,
                last_seen=now,
            )
        )
        if max_per_user > 0:
            surplus = (
                sa.select(s.id_hash)
                .where(s.user_id == user_id)
                .order_by(s.created.desc(), s.id_hash)
                .offset(max_per_user)
            )
            old = [r.id_hash for r in await conn.execute(surplus)]
            if old:
                await conn.execute(sa.delete(sessions).where(s.id_hash.in_(old)))


async def session_by_hash(store: Store, id_hash: str) -> SessionRow | None:
    s, u = sessions.c, users.c
    q = (
        sa.select(s.user_id, s.csrf_token, s.created, s.last_seen, u.name, u.role)
        .join(users, u.id == s.user_id)
        .where(s.id_hash == id_hash)
    )
    async with store.engine.connect() as conn:
        row = (await conn.execute(q)).first()
    if row is None:
        return None
    return SessionRow(
        id_hash, int(row.user_id), row.name, row.role, row.csrf_token, row.created, row.last_seen
    )


async def touch_session(store: Store, id_hash: str, now: float) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.update(sessions).where(sessions.c.id_hash == id_hash).values(last_seen=now)
        )


async def delete_session(store: Store, id_hash: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(sessions).where(sessions.c.id_hash == id_hash))


async def delete_user_sessions(store: Store, user_id: int) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))
