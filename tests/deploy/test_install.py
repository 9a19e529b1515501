"""deploy/install.sh into a temporary root, and the unit it installs checked by systemd."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("useradd"),
    reason="the install script creates users: root and useradd only",
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "install.sh"
UNIT = REPO / "deploy" / "systemd" / "augenmass.service"
VENV_BIN = "/opt/augenmass/venv/bin/augenmass"


def _install(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "--root", str(root), "--no-venv", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ids(root: Path, name: str) -> tuple[int, int, list[str]]:
    user = next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines() if line)
    assert user[0] == name
    group = next(line.split(":") for line in (root / "etc/group").read_text().splitlines())
    assert group[0] == name
    return int(user[2]), int(group[2]), user


def _verify(unit: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify checks that the programs exist: point them at a real one."""
    copy = tmp / unit.name
    copy.write_text(unit.read_text().replace(VENV_BIN, sys.executable))
    return subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty system root: account files and nothing else."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).touch()
    return root


def _mode(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


@needs_root
def test_install_into_a_root_creates_user_directories_and_unit(root: Path, tmp_path: Path) -> None:
    done = _install(root)
    assert done.returncode == 0, done.stderr
    assert "systemctl enable --now augenmass" in done.stdout
    assert "augenmass user add admin --role admin" in done.stdout

    uid, gid, user = _ids(root, "augenmass")
    assert user[5:] == ["/var/lib/augenmass", "/usr/sbin/nologin"]
    assert uid < 1000  # a system user

    config = root / "etc/augenmass"
    assert _mode(config) == (0o750, 0, gid)
    examples = sorted(p.name for p in (REPO / "examples/config").iterdir())
    assert sorted(p.name for p in config.iterdir()) == examples
    for path in config.iterdir():
        assert _mode(path) == (0o640, 0, gid), path
    assert _mode(root / "var/lib/augenmass") == (0o700, uid, gid)

    unit = root / "etc/systemd/system/augenmass.service"
    assert unit.read_text() == UNIT.read_text()
    assert _mode(unit) == (0o644, 0, 0)
    wrapper = root / "usr/local/bin/augenmass"
    assert _mode(wrapper)[0] == 0o755
    assert VENV_BIN in wrapper.read_text()

    if shutil.which("systemd-analyze"):
        verified = _verify(unit, tmp_path)
        assert verified.returncode == 0, verified.stderr
        assert verified.stderr == ""  # not even a warning (an unknown key is only one)


@needs_root
def test_running_it_again_upgrades_and_keeps_user_config_and_data(root: Path) -> None:
    assert _install(root).returncode == 0
    hosts = root / "etc/augenmass/hosts.yaml"
    hosts.write_text("hosts: {mine: {address: 192.0.2.1}}\n")
    (root / "etc/augenmass/new.yaml").write_text("# the admin's own file\n")
    db = root / "var/lib/augenmass/augenmass.db"
    db.write_bytes(b"precious")

    again = _install(root)
    assert again.returncode == 0, again.stderr
    assert "user augenmass exists" in again.stdout
    lines = (root / "etc/passwd").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["augenmass"]
    assert hosts.read_text() == "hosts: {mine: {address: 192.0.2.1}}\n"
    assert (root / "etc/augenmass/new.yaml").exists()
    assert db.read_bytes() == b"precious"


@needs_root
def test_the_script_refuses_a_root_that_is_not_a_system(tmp_path: Path) -> None:
    done = _install(tmp_path)
    assert done.returncode == 1
    assert "not a system root" in done.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_unit_is_hardened_as_documented(tmp_path: Path) -> None:
    verified = _verify(UNIT, tmp_path)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(UNIT.read_text())
    service = unit["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["User"] == "augenmass"
    assert service["CapabilityBoundingSet"] == "CAP_NET_RAW"
    assert service["AmbientCapabilities"] == "CAP_NET_RAW"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] in ("yes", "read-only")
    assert service["PrivateTmp"] == "yes"
    assert service["NoNewPrivileges"] == "yes"
    assert service["SystemCallFilter"] == "@system-service"
    assert service["ReadWritePaths"] == "/var/lib/augenmass"
    env = dict(item.split("=", 1) for item in service["Environment"].split())
    assert env == {
        "AUGENMASS_CONFIG": "/etc/augenmass",
        "AUGENMASS_DATA": "/var/lib/augenmass",
        "AUGENMASS_LISTEN": "127.0.0.1:8080",
    }
    assert service["ExecStart"] == f"{VENV_BIN} run"
