"""`check-config` reports bad notification settings with file:line; secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.core.errors import ConfigError
from e2e.helpers import cli


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "augenmass.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    # a single file is shown by its path: keep the name only
    return [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems]


def test_invalid_contact_address(tmp_path: Path) -> None:
    [p] = problems(tmp_path, "contacts:\n  alice: {email: 'alice at example'}\n")
    assert p.startswith("augenmass.yaml:2: contacts.alice.email: invalid e-mail address")


def test_malformed_apprise_url_and_unknown_webhook(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "notifications:\n"
        "  webhooks: {ops: {url: 'http://127.0.0.1:9/hook', secret: s3cret}}\n"
        "contacts:\n"
        "  alice:\n"
        "    apprise: ['nosuchscheme://abc', 'json://127.0.0.1:9/x', 'garbage']\n"
        "    webhooks: [ops, opz]\n",
    )
    assert any(
        "contacts.alice.apprise[0]: malformed or unsupported Apprise URL (nosuchscheme://...)" in p
        for p in found
    ), found
    assert any("contacts.alice.apprise[2]: malformed Apprise URL" in p for p in found)
    assert not any("apprise[1]" in p for p in found)  # a good URL passes
    assert any(
        p.startswith("augenmass.yaml:6: contacts.alice.webhooks[1]: unknown webhook 'opz'")
        for p in found
    ), found
    assert len(found) == 3


def test_unknown_template_variable(tmp_path: Path) -> None:
    templates = tmp_path / "tpl" / "en"
    templates.mkdir(parents=True)
    (templates / "subject.j2").write_text("{{ entries[0].check }} {{ hostnme }}")
    (templates / "body.txt.j2").write_text("{% for e in entries %}{{ e.chekc }}{% endfor %}")
    found = problems(tmp_path, f"notifications:\n  templates_dir: {tmp_path / 'tpl'}\n")
    assert any(
        p.startswith(
            "augenmass.yaml:2: notifications.templates_dir: en/subject.j2: unknown"
            " template variable 'hostnme'"
        )
        for p in found
    ), found
    assert any("en/body.txt.j2: unknown template variable" in p and "chekc" in p for p in found)


def test_own_incident_lines_are_checked_in_every_branch(tmp_path: Path) -> None:
    for lang, text in (
        (
            "en",
            "{% macro headline(e) %}{% if e.behind_count %}{{ e.behnd }}{% endif %}"
            "{% endmacro %}{% macro subject(e) %}{% endmacro %}",
        ),
        ("de", "{% macro headline(e) %}{{ e.check }}{% endmacro %}"),
    ):
        (tmp_path / "tpl" / lang).mkdir(parents=True)
        (tmp_path / "tpl" / lang / "lines.j2").write_text(text)
    found = problems(tmp_path, f"notifications:\n  templates_dir: {tmp_path / 'tpl'}\n")
    # the misspelt variable sits in the branch of a host DOWN with hosts behind it
    assert any("en/lines.j2: unknown template variable" in p and "behnd" in p for p in found)
    assert any("de/lines.j2: the macro 'subject' is missing" in p for p in found), found


def test_smtp_from_address_and_missing_env_secret(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AM_TEST_SMTP_PW", raising=False)
    found = problems(tmp_path, "notifications:\n  smtp: {host: 127.0.0.1, from: nobody}\n")
    assert any("notifications.smtp.from: invalid e-mail address" in p for p in found), found
    smtp = "{host: 127.0.0.1, password: '${AM_TEST_SMTP_PW}'}"
    found = problems(tmp_path, f"notifications:\n  smtp: {smtp}\n")
    assert any("environment variable AM_TEST_SMTP_PW is not set" in p for p in found), found


def test_secrets_from_env_and_file_reach_the_plan_but_no_output(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AM_TEST_SMTP_PW", "env-secret-1")
    secret_file = tmp_path / "pw"
    secret_file.write_text("file-secret-2\n")
    path = tmp_path / "augenmass.yaml"
    path.write_text(
        "notifications:\n"
        f"  smtp: {{host: 127.0.0.1, username: u, password_file: {secret_file}}}\n"
        "  webhooks: {ops: {url: 'http://127.0.0.1:9/', secret: '${AM_TEST_SMTP_PW}'}}\n"
        "hosts: {www1: {address: 127.0.0.1}}\n"  # check-config refuses a config without hosts
    )
    plan = load_config(path)
    assert plan.notifications.smtp is not None
    assert plan.notifications.smtp.password == "file-secret-2"
    assert plan.notifications.webhooks["ops"].secret == "env-secret-1"
    assert "secret" not in repr(plan.notifications)
    out = cli("check-config", str(path))
    assert out.returncode == 0 and "secret" not in out.stdout + out.stderr


def test_contact_types_filter_routes(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.yaml"
    path.write_text("contacts:\n  boss: {email: b@example.org, types: [PROBLEM]}\n")
    assert load_config(path).contacts["boss"].types == frozenset({"PROBLEM"})
    found = problems(tmp_path, "contacts:\n  boss: {types: [PROBLEMS]}\n")
    assert "contacts.boss.types[0]" in found[0]


def test_contact_types_decide_who_gets_a_recovery(tmp_path: Path) -> None:
    from augenmass.cli.simulate import run_simulation

    path = tmp_path / "augenmass.yaml"
    path.write_text(
        "contacts:\n"
        "  boss: {email: b@example.org, types: [PROBLEM]}\n"
        "  ops: {email: o@example.org}\n"
        "contact_groups: {team: [boss, ops]}\n"
        "hosts: {www1: {address: 127.0.0.1}}\n"
        "services:\n"
        "  - {name: web, host: www1, max_check_attempts: 1, notify: [team], check: {type: dummy}}\n"
    )
    lines = [
        '{"at": 0, "host": "www1", "service": "web", "state": "CRITICAL"}',
        '{"at": 60, "host": "www1", "service": "web", "state": "OK"}',
    ]
    notes = [e for e in run_simulation(load_config(path), lines) if e["event"] == "notification"]
    assert [(n["type"], n["contacts"]) for n in notes] == [
        ("PROBLEM", ["boss", "ops"]),
        ("RECOVERY", ["ops"]),
    ]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("monitor.example.org", "use http:// or https:// and a host"),
        ("https://ops:pw@monitor.example.org", "no user or password in it"),
        ("https://monitor.example.org/?x=1", "no query (?) or fragment (#)"),
        ("https://monitor.example.org/a b", "without spaces"),
    ],
)
def test_base_url_must_be_a_plain_web_address(tmp_path: Path, value: str, why: str) -> None:
    [p] = problems(tmp_path, f"settings:\n  base_url: '{value}'\n")
    assert p.startswith("augenmass.yaml:2: settings.base_url:") and why in p, p
    assert "pw" not in p  # a password in the address is not repeated


def test_base_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.yaml"
    path.write_text("settings: {base_url: 'https://monitor.example.org/aug/'}\n")
    assert load_config(path).settings.base_url == "https://monitor.example.org/aug"
