"""Users and API tokens: the rules and the hashing, for the server and `augenmass user|token`.

Passwords are argon2 hashes; API tokens are shown once at creation and kept as SHA-256 digests
(a token is 256 random bits, so a slow hash would add nothing but CPU per request).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from augenmass.api import passwords
from augenmass.control import Account, AccountStore, TokenInfo

ROLES = ("viewer", "operator", "admin")  # each includes the rights of the ones before it
SCOPES = ("read", "write", "submit")
AGENT_SCOPE = "agent:"  # + the agent's name: the token of one `augenmass agent`, nothing else
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

    @property
    def agent(self) -> str | None:
        """The agent this token belongs to (it may then submit only that agent's results)."""
        for scope in self.scopes:
            if scope.startswith(AGENT_SCOPE):
                return scope[len(AGENT_SCOPE) :]
        return None


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


def check_password(password: str, name: str) -> str:
    """A new password must be long and not common (existing ones are not re-checked)."""
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password must be at most {MAX_PASSWORD} characters")
    why = passwords.problem(password, name)
    if why is not None:
        raise AccountError(why)
    return password


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


def _user(account: Account) -> User:
    return User(account.id, account.name, account.role)


def _token(info: TokenInfo) -> Token:
    return Token(info.id, info.name, info.scopes)


async def add_user(store: AccountStore, name: str, password: str, role: str) -> User:
    check_name(name)
    check_role(role)
    check_password(password, name)
    account = await store.add_user(name, hash_password(password), role)
    if account is None:
        raise AccountError(f"user {name!r} exists already")
    return _user(account)


async def get_user(store: AccountStore, name: str) -> tuple[User, str] | None:
    """The user and the stored password hash."""
    found = await store.login_of(name)
    return None if found is None else (_user(found.account), found.password_hash)


async def list_users(store: AccountStore) -> list[User]:
    return [_user(a) for a in await store.users()]


async def set_password(
    store: AccountStore, name: str, password: str, keep_session: str | None = None
) -> None:
    """Change a password; every session of the user ends except `keep_session` (an id hash)."""
    pw_hash = hash_password(check_password(password, name))
    if not await store.update_user(name, password_hash=pw_hash, keep_session=keep_session):
        raise AccountError(f"no user {name!r}")


async def set_role(store: AccountStore, name: str, role: str) -> None:
    """Change a role; all of the user's sessions end, so the new rights apply at once."""
    if not await store.update_user(name, role=check_role(role)):
        raise AccountError(f"no user {name!r}")


async def delete_user(store: AccountStore, name: str) -> None:
    if not await store.delete_user(name):
        raise AccountError(f"no user {name!r}")


async def create_token(
    store: AccountStore, name: str, scopes: frozenset[str], agent: str | None = None
) -> str:
    """Create an API token; the returned secret is shown once and never stored. With `agent`
    it is that agent's token: scope submit, for the agent's own hosts only."""
    check_name(name)
    if not scopes or scopes - set(SCOPES):
        raise AccountError(f"scopes must be a subset of {','.join(SCOPES)}")
    if agent is not None:
        check_name(agent)
        if "," in agent or scopes != {"submit"}:
            raise AccountError("an agent's token has the scope submit only, and a name without ','")
        scopes = scopes | {AGENT_SCOPE + agent}
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if not await store.add_token(name, digest(secret), scopes):
        raise AccountError(f"token {name!r} exists already")
    return secret


async def revoke_token(store: AccountStore, name: str) -> None:
    if not await store.delete_token(name):
        raise AccountError(f"no token {name!r}")


async def list_tokens(store: AccountStore) -> list[Token]:
    return [_token(t) for t in await store.tokens()]


async def find_token(store: AccountStore, secret: str) -> Token | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    found = await store.token_by_hash(digest(secret))
    return None if found is None else _token(found)
