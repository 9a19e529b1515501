"""The `cluster:` section: NATS workers and the active/standby lease."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.core.errors import ConfigError
from augenmass.core.values import CheckKey

HOST = "hosts:\n  a: {address: 127.0.0.1}\n"


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(HOST + text)
    return load_config(path)


def test_without_a_cluster_section_there_are_no_workers(tmp_path: Path) -> None:
    cluster = _load(tmp_path, "").cluster
    assert cluster.nats_url is None and cluster.zones == ()
    assert (cluster.lease.ttl, cluster.lease.renew) == (10.0, 3.0)


def test_the_section_is_read(tmp_path: Path) -> None:
    text = (
        "cluster:\n"
        "  nats: {url: 'nats://127.0.0.1:4222', prefix: mon}\n"
        "  zones: [dc1, dc2]\n"
        "  lease: {ttl: 12s, renew: 2s}\n"
    )
    cluster = _load(tmp_path, text).cluster
    assert cluster.nats_url == "nats://127.0.0.1:4222" and cluster.prefix == "mon"
    assert cluster.zones == ("dc1", "dc2")
    assert (cluster.lease.ttl, cluster.lease.renew) == (12.0, 2.0)


@pytest.mark.parametrize(
    ("text", "where", "said"),
    [
        ("cluster:\n  nats: {url: 'http://x'}\n", ":4: cluster.nats.url", "nats://HOST:PORT"),
        ("cluster:\n  lease: {ttl: 5s, renew: 3s}\n", ":4: cluster.lease", "a third of"),
        ("cluster:\n  zone: [x]\n", ":4: cluster.zone", "zones"),
    ],
)
def test_mistakes_are_named_with_line_and_key(
    tmp_path: Path, text: str, where: str, said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    shown = str(caught.value)
    assert where in shown and said in shown, shown


def test_a_password_in_the_nats_url_is_never_shown(tmp_path: Path) -> None:
    text = "cluster:\n  nats: {url: 'nats://u:s3cr3t-pw@127.0.0.1:4222'}\n  lease: {renew: 9s}\n"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert "s3cr3t-pw" not in str(caught.value)


def _hosts(tmp_path: Path, hosts: str, cluster: str = "cluster:\n  zones: [dc1, dc2]\n"):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(cluster + hosts)
    return load_config(path)


def test_a_host_joins_a_zone_itself_or_through_a_template(tmp_path: Path) -> None:
    plan = _hosts(
        tmp_path,
        "templates:\n  far: {zone: dc2}\n"
        "hosts:\n  a: {address: 127.0.0.1, zone: dc1}\n"
        "  b: {address: 127.0.0.1, use: [far]}\n  c: {address: 127.0.0.1}\n",
    )
    assert [plan.hosts[h].zone for h in "abc"] == ["dc1", "dc2", None]
    assert [plan.zone_of(CheckKey(h)) for h in "abc"] == ["dc1", "dc2", "default"]


def test_an_unknown_zone_is_named_with_line_path_and_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _hosts(tmp_path, "hosts:\n  a: {address: 127.0.0.1}\n  b: {address: x, zone: dc3}\n")
    shown = str(caught.value)
    assert "c.yaml:5: hosts.b.zone" in shown and "unknown zone 'dc3'" in shown, shown
    assert "did you mean" in shown


def test_a_zone_name_must_be_a_subject_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _hosts(tmp_path, HOST, "cluster:\n  zones: [dc1, 'dc.2']\n")
    assert "cluster.zones[1]" in str(caught.value) and "NATS subjects" in str(caught.value)


def test_the_ack_wait_is_read(tmp_path: Path) -> None:
    cluster = _load(tmp_path, "cluster:\n  nats: {url: 'nats://127.0.0.1:4222', ack_wait: 3s}\n")
    assert cluster.cluster.ack_wait == 3.0
