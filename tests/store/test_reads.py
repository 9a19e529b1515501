"""The store's query functions for the faces and the CLI: accounts, audit log, notifications."""

from __future__ import annotations

from augenmass.store import accounts, audit, reads
from augenmass.store.outbox import LogEntry, NewItem, Outbox

from .conftest import Db


def _item(contact: str, host: str = "www1", service: str = "website") -> NewItem:
    return NewItem(contact, "email", "PROBLEM", host, service, 2, 1, 100.0, "down", {})


async def test_users_tokens_and_sessions(db: Db) -> None:
    store = await db.open()
    try:
        uid = await accounts.insert_user(store, "ada", "hash-1", "admin", 1.0)
        assert uid is not None
        assert await accounts.insert_user(store, "ada", "hash-2", "viewer", 2.0) is None
        found = await accounts.user_by_name(store, "ada")
        assert found == accounts.UserRow(uid, "ada", "admin", "hash-1")

        await accounts.insert_session(
            store, "s-old", uid, "c1", 10.0, idle_before=0, created_before=0
        )
        await accounts.insert_session(
            store, "s-new", uid, "c2", 50.0, idle_before=20, created_before=0
        )
        assert await accounts.session_by_hash(store, "s-old") is None  # idle: dropped
        sess = await accounts.session_by_hash(store, "s-new")
        assert sess is not None and (sess.user_name, sess.role, sess.csrf_token) == (
            "ada",
            "admin",
            "c2",
        )

        assert await accounts.update_user(store, "ada", {"role": "viewer"}, None)
        assert await accounts.session_by_hash(store, "s-new") is None  # a role change ends it
        assert not await accounts.update_user(store, "nobody", {"role": "viewer"}, None)

        assert await accounts.insert_token(
            store, "agent", "digest", frozenset({"read", "submit"}), 3.0
        )
        assert not await accounts.insert_token(store, "agent", "other", frozenset({"read"}), 4.0)
        token = await accounts.token_by_hash(store, "digest")
        assert token is not None and token.scopes == frozenset({"read", "submit"})
        assert await accounts.delete_token(store, "agent")
        assert not await accounts.delete_token(store, "agent")
        assert await accounts.delete_user(store, "ada")
        assert await accounts.all_users(store) == []
    finally:
        await store.close()


async def test_audit_newest_first_and_fields_capped(db: Db) -> None:
    store = await db.open()
    try:
        await audit.record(store, 1.0, "olga", "acknowledge", "www1/website", "x" * 5000)
        await audit.record(store, 2.0, "ada", "reload", "config")
        newest, oldest = await audit.entries(store)
        assert (newest.user_name, newest.action) == ("ada", "reload")
        assert len(oldest.detail) == audit.MAX_FIELD
    finally:
        await store.close()


async def test_notification_reads(db: Db) -> None:
    store = await db.open()
    try:
        outbox = Outbox(store.engine)
        await outbox.add([_item("ada"), _item("bob"), _item("cy", "mail", "")], 100.0, 100.0)
        [first, *_] = await outbox.pending()
        await outbox.mark_attempt([first.id], "refused", None)
        await outbox.log(
            [LogEntry(101.0, "ada", "email", "PROBLEM", "www1/website", 1, "failed", "boom")]
        )

        assert await reads.outbox_counts(store) == {"pending": 2, "sent": 0, "failed": 1}
        per_check = await reads.notification_log(store, 0, 200, "www1", "website")
        assert sorted(r["contact"] for r in per_check) == ["ada", "bob"]
        host_only = await reads.notification_log(store, 0, 200, "mail", None)
        assert [r["contact"] for r in host_only] == ["cy"]
        [line] = await reads.notification_log(store, 0, 200)
        assert "detail" not in line and line["result"] == "failed"
        [shell_line] = await reads.delivery_log(store)
        assert shell_line["detail"] == "boom"
    finally:
        await store.close()
