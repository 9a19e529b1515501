"""Who is told nothing, said once at start and reload: no contacts, or mail without a relay."""

from __future__ import annotations

from pathlib import Path

from augenmass.config import load_config
from augenmass.notify.channels import unreached_note
from e2e.helpers import ServerProcess, wait_for

HOST = "hosts:\n  a: {address: 127.0.0.1, check: none}\n"


def _note(tmp_path: Path, text: str) -> str | None:
    path = tmp_path / "c.yaml"
    path.write_text(HOST + text)
    return unreached_note(load_config(path))


def test_no_contacts_says_nobody_is_notified(tmp_path: Path) -> None:
    note = _note(tmp_path, "")
    assert note is not None and note.startswith("nobody is notified: no contacts")


def test_mail_without_a_relay_names_the_contacts_and_the_missing_key(tmp_path: Path) -> None:
    text = (
        "contacts:\n  alice: {email: alice@example.org}\n  bob: {email: bob@example.org}\n"
        "  hook: {webhooks: [chat]}\n"
        "notifications:\n  webhooks: {chat: {url: 'https://chat.example.org/h'}}\n"
    )
    assert _note(tmp_path, text) == (
        "2 of 3 contacts are told nothing (alice, bob): mail is off until"
        " notifications.smtp names a relay"
    )


def test_every_contact_reachable_says_nothing(tmp_path: Path) -> None:
    text = (
        "contacts:\n  alice: {email: alice@example.org}\n"
        "notifications:\n  smtp: {host: 127.0.0.1, port: 2525}\n"
    )
    assert _note(tmp_path, text) is None


def test_the_server_says_it_once_at_start(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(HOST + "contacts:\n  alice: {email: alice@example.org}\n")
    server = ServerProcess(config, tmp_path / "data").start()
    try:
        wait_for(lambda: "msg=started" in server.log.read_text(), 60, "the server to start")
        wait_for(lambda: "mail is off" in server.log.read_text(), 10, "the note")
        lines = [ln for ln in server.log.read_text().splitlines() if "mail is off" in ln]
        assert len(lines) == 1 and "level=warning" in lines[0] and "alice" in lines[0]
    finally:
        server.stop()
