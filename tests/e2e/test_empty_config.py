"""A config without hosts would stop all monitoring without a word: `run` and `check-config`
refuse it (exit 2, naming the file) and a reload refuses it at ERROR while the old config keeps
running, unless `--allow-empty` says it is meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import ServerProcess, cli, free_port, wait_for

pytestmark = pytest.mark.slow

CONFIG = """
settings: {max_check_spread: 1s}
hosts: {app: {address: 127.0.0.1}}
services:
  - {name: ok, host: app, check_interval: 1s, check: {type: dummy, state: ok, output: fine}}
"""
HOSTLESS = {
    "an empty file": "",
    "only comments": "# the hosts are in another file now\n",
    "no hosts section": "contacts:\n  ops: {email: ops@example.org}\n",
    "an empty hosts section": "hosts: {}\n",
}
REFUSED = "hosts: no hosts are defined, so nothing would be monitored"


@pytest.mark.parametrize("text", HOSTLESS.values(), ids=HOSTLESS.keys())
def test_check_config_refuses_a_config_without_hosts_unless_allowed(
    tmp_path: Path, text: str
) -> None:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(text)
    out = cli("check-config", str(cfg))
    assert out.returncode == 2
    assert out.stderr.startswith(f"{cfg}: {REFUSED}")
    assert "--allow-empty" in out.stderr and "Traceback" not in out.stderr
    allowed = cli("check-config", "--allow-empty", str(cfg))
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("OK: 0 hosts, 0 services")


def test_run_refuses_a_config_without_hosts_with_exit_2_and_starts_nothing(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "conf.d"
    cfg.mkdir()
    (cfg / "00-settings.yaml").write_text("settings: {timezone: Europe/Berlin}\n")
    data = tmp_path / "data"
    out = cli(
        "run", "--config", str(cfg), "--data", str(data), "--listen", f"127.0.0.1:{free_port()}"
    )
    assert out.returncode == 2
    assert f"{cfg}: {REFUSED}" in out.stderr
    assert "1 error: configuration refused" in out.stderr and "Traceback" not in out.stderr
    assert not (data / "augenmass.db").exists()  # refused before the store was opened


def test_a_reload_of_an_emptied_config_is_refused_at_error_and_the_old_one_keeps_running(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG)
    server = ServerProcess(cfg, tmp_path / "data").start()
    try:
        wait_for(lambda: server.status().get("app/ok", {}).get("output") == "fine", 20, "a check")
        cfg.write_text("")  # e.g. a deployment that truncated the file
        assert cli("reload", "--data", str(server.data)).returncode == 0
        line = wait_for(
            lambda: [ln for ln in server.log.read_text().splitlines() if "reload refused" in ln],
            10,
            "the refusal in the log",
        )[0]
        assert " level=error " in line and "no hosts are defined" in line
        health = server.health()
        assert (health["hosts"], health["services"]) == (1, 1)  # the old config keeps running
        checked = server.status()["app/ok"]["last_check"]
        wait_for(lambda: server.status()["app/ok"]["last_check"] > checked, 10, "checks go on")
    finally:
        server.stop()


def test_allow_empty_starts_and_reloads_a_config_without_hosts(tmp_path: Path) -> None:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text("")
    server = ServerProcess(cfg, tmp_path / "data", args=("--allow-empty",)).start()
    try:
        assert (server.health()["hosts"], server.health()["services"]) == (0, 0)
        cfg.write_text(CONFIG)
        assert cli("reload", "--data", str(server.data)).returncode == 0
        wait_for(lambda: server.health()["services"] == 1, 10, "the config with a host")
        cfg.write_text("hosts: {}\n")
        assert cli("reload", "--data", str(server.data)).returncode == 0
        wait_for(lambda: server.health()["services"] == 0, 10, "the empty config, as allowed")
    finally:
        server.stop()
