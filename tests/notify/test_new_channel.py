"""A channel added the way the registry promises: one class (here in this module) plus one line
in CHANNELS. Its keys are config keys, its check runs at load time, and notifications reach it
through the outbox like any built-in channel's."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from augenmass.config import load_config, notifications
from augenmass.core.errors import ConfigError
from augenmass.core.messages import Message, Rendered
from augenmass.core.plan import Contact, NotificationSettings, Plan
from augenmass.notify import NotificationService
from augenmass.notify import channels as registry
from augenmass.notify.channels.base import ChannelModel, KeyPath, SettingsReport
from augenmass.store import Store
from notify.helpers import ManualClock, note


class FileContactKeys(ChannelModel):
    file: str = ""  # the contact's messages go to this file, one JSON line each


class FileSettings(ChannelModel):
    directory: str


class FileSettingsKeys(ChannelModel):
    files: FileSettings | None = None


class FileChannel:
    ContactKeys: ClassVar[type[ChannelModel]] = FileContactKeys
    SettingsKeys: ClassVar[type[ChannelModel]] = FileSettingsKeys

    @classmethod
    def contact_fields(cls, keys: Any) -> dict[str, Any]:
        return {"file": keys.file}

    @classmethod
    def settings_fields(cls, keys: Any, report: SettingsReport) -> dict[str, Any]:
        if keys.files is None:
            return {}
        if not Path(keys.files.directory).is_dir():
            report.problem("not a directory", "files", "directory")
        return {"files": keys.files.directory}

    @classmethod
    def contact_problems(
        cls, contact: Contact, settings: NotificationSettings
    ) -> Iterable[tuple[KeyPath, str]]:
        name = contact.channel_keys.get("file", "")
        if "/" in name:
            yield ("file",), "a file name, not a path"

    @classmethod
    def outbox_names(cls, contact: Contact, settings: NotificationSettings) -> list[str]:
        wanted = contact.channel_keys.get("file") and "files" in settings.channel_settings
        return ["file"] if wanted else []

    @classmethod
    def for_outbox(cls, plan: Plan, name: str) -> FileChannel | None:
        directory = plan.notifications.channel_settings.get("files")
        return cls(Path(directory)) if directory else None

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        line = json.dumps({"to": contact.name, "subject": rendered.subject})
        with (self.directory / contact.channel_keys["file"]).open("a") as out:
            out.write(line + "\n")


@pytest.fixture
def file_channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    caches = (
        registry.channel_class,
        notifications.contact_model,
        notifications.notifications_model,
    )
    for cache in caches:
        cache.cache_clear()
    monkeypatch.setitem(registry.CHANNELS, "file", f"{__name__}:FileChannel")  # the one line
    yield
    monkeypatch.undo()
    for cache in caches:
        cache.cache_clear()


def config(tmp_path: Path, contact: str, directory: Path) -> Path:
    path = tmp_path / "augenmass.yaml"
    text = f"""
        notifications:
          files: {{directory: '{directory}'}}
          group_wait: 0s
        contacts:
          carol: {contact}
        contact_groups:
          ops: [carol]
        hosts:
          www1: {{address: 127.0.0.1}}
        services:
          - {{name: website, host: www1, check: {{type: dummy}}, notify: [ops]}}
        """
    path.write_text(textwrap.dedent(text))
    return path


def test_its_keys_are_checked_at_load_time(tmp_path: Path, file_channel: None) -> None:
    path = config(tmp_path, "{file: a/b, fiel: x}", tmp_path / "missing")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = sorted(str(p).replace(f"{tmp_path}/", "") for p in info.value.problems)
    assert found == [
        "augenmass.yaml:3: notifications.files.directory: not a directory",
        "augenmass.yaml:6: contacts.carol.fiel: unknown key (did you mean 'file'?)",
        "augenmass.yaml:6: contacts.carol.file: a file name, not a path",
    ]


async def test_notifications_reach_it_through_the_outbox(
    tmp_path: Path, file_channel: None, store: Store, clock: ManualClock
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    plan = load_config(config(tmp_path, "{file: carol.jsonl}", out))
    service = NotificationService(plan, store, clock)
    await service.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["carol"])])
    await service.dispatcher.pass_once()
    assert await service.send_test("carol") == "file: sent"
    lines = [json.loads(line) for line in (out / "carol.jsonl").read_text().splitlines()]
    assert [line["to"] for line in lines] == ["carol", "carol"]
    assert lines[0]["subject"] == "PROBLEM: www1/website is CRITICAL"
    assert service.stats.sent == 1
