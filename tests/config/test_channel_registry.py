"""Config finds the notification channels' keys through the channel registry, and loading a
config never brings the store along (not even through notify's package)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

from augenmass.config import load_config
from augenmass.core.errors import ConfigError
from augenmass.notify.channels import CHANNELS, channel_class, channels_of

DELIVERY = ("augenmass.store", "augenmass.store.outbox", "augenmass.notify.dispatcher")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "augenmass.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_channel_key_is_known_and_a_misspelt_one_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        notifications:
          smtp: {host: 127.0.0.1}
          webhooks: {ops: {url: 'http://127.0.0.1:9/hook'}}
        contacts:
          alice: {email: a@example.org, webhooks: [ops], apprise: ['json://127.0.0.1:9/x']}
          bob: {emial: b@example.org}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [problem] = [str(p) for p in info.value.problems]
    assert problem.endswith("contacts.bob.emial: unknown key (did you mean 'email'?)")
    path.write_text(path.read_text().replace("emial", "email"))
    plan = load_config(path)
    alice = plan.contacts["alice"]
    assert channels_of(alice, plan.notifications) == ["email", "webhook:ops", "apprise"]
    assert channels_of(plan.contacts["bob"], plan.notifications) == ["email"]


def test_each_registered_channel_carries_its_config() -> None:
    for kind in CHANNELS:
        cls = channel_class(kind)
        assert cls.ContactKeys.model_config.get("extra") == "forbid", kind
        assert cls.SettingsKeys.model_config.get("extra") == "forbid", kind


def test_loading_a_config_imports_no_store(tmp_path: Path) -> None:
    templates = tmp_path / "tpl" / "en"
    templates.mkdir(parents=True)
    (templates / "subject.j2").write_text("{{ summary }}")
    path = write(
        tmp_path,
        f"""
        notifications:
          templates_dir: {tmp_path / "tpl"}
          smtp: {{host: 127.0.0.1}}
          webhooks: {{ops: {{url: 'http://127.0.0.1:9/hook'}}}}
        contacts:
          alice: {{email: a@example.org, webhooks: [ops], apprise: ['json://127.0.0.1:9/x']}}
        """,
    )
    # a fresh interpreter: this test process has long imported everything
    script = (
        "import sys\n"
        "from augenmass.config import load_config\n"
        f"load_config({str(path)!r})\n"
        f"print(sorted(m for m in sys.modules if m.startswith({DELIVERY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_no_import_chain_from_config_or_channels_to_delivery() -> None:
    # static, lazy imports inside functions included
    graph = grimp.build_graph("augenmass")
    for importer in ("augenmass.config", "augenmass.notify.channels"):
        for imported in (*DELIVERY, "augenmass.notify.service"):
            chains = graph.find_shortest_chains(importer=importer, imported=imported)
            assert not chains, (importer, imported, chains)
