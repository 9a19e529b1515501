"""A probe worker, an agent, a check worker: processes apart from the server, whose log lines
must not show the passwords of the checks they are sent either (the server's redaction does not
reach them)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from augenmass.core.secretkeys import secrets_in

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("Url-Pass-77", "Basic-Pass-88", "tok-99-abc", "Inline-Pass-66")


def _stderr_of(script: str, tmp_path: Path) -> str:
    """Runs `script` in a fresh interpreter (its redaction is process-wide) with the server's
    log set-up; its stderr, where such a process logs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_the_secrets_of_check_options_are_found_by_key_and_in_urls() -> None:
    options = {
        "url": "http://ops:Url-Pass-77@127.0.0.1:9/",
        "password": "Basic-Pass-88",
        "headers": {"Authorization": "Bearer tok-99-abc", "X-Trace": "not-a-secret"},
        "community": "public",
        "port": 443,
    }
    found = secrets_in(options)
    assert {"Url-Pass-77", "Basic-Pass-88", "tok-99-abc"} <= found
    assert "not-a-secret" not in found and "443" not in found


def test_a_probe_worker_redacts_the_passwords_of_the_checks_it_was_sent(tmp_path: Path) -> None:
    stderr = _stderr_of(
        """
        import asyncio, logging
        from augenmass.core.logfmt import setup_logging
        from augenmass.runner import wire
        from augenmass.runner.worker import _Worker

        class Out:  # the pipe to the server: answers are not what this test reads
            def write(self, data): pass
            def is_closing(self): return False

        async def main():
            setup_logging("INFO")
            worker = _Worker(Out(), asyncio.get_running_loop().create_future())
            defined = {
                "url": "http://ops:Url-Pass-77@127.0.0.1:9/",
                "password": "Basic-Pass-88",
                "headers": {"Authorization": "Bearer tok-99-abc"},
            }
            inline = {"host": "127.0.0.1", "port": 9, "auth_password": "Inline-Pass-66"}
            worker.data_received(wire.batch([wire.define(1, "http", defined, 5.0, 2)]))
            worker.data_received(wire.batch([wire.job(7, "tcp", inline, 1.0, 2)]))
            log = logging.getLogger("augenmass.worker")
            log.warning("a probe said %s %s", "Url-Pass-77 Basic-Pass-88", "tok-99-abc",
                        extra={"error": "refused for Inline-Pass-66"})
            worker._finish()

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert "a probe said" in stderr
    for secret in SECRETS:
        assert secret not in stderr
    assert stderr.count("****") == 4


def test_an_agent_redacts_its_token_and_the_passwords_of_its_checks(tmp_path: Path) -> None:
    stderr = _stderr_of(
        """
        import logging
        from pathlib import Path
        from augenmass.agent.agent import Agent, AgentOptions
        from augenmass.core.logfmt import setup_logging

        setup_logging("INFO")
        agent = Agent(AgentOptions("http://127.0.0.1:9", "Agent-Token-55", Path("data")))
        check = {
            "host": "printer", "service": "web", "type": "http", "interval": 60,
            "options": {"url": "http://ops:Url-Pass-77@127.0.0.1:9/", "password": "Basic-Pass-88"},
            "macros": {"_SERVICEAPI_TOKEN": "tok-99-abc"},
        }
        agent._apply({"agent": None, "checks": [check], "settings": {}}, save=False)
        logging.getLogger("augenmass.agent").warning(
            "the server said %s", "Agent-Token-55 Url-Pass-77 Basic-Pass-88 tok-99-abc"
        )
        """,
        tmp_path,
    )
    assert "the server said" in stderr
    for secret in ("Agent-Token-55", *SECRETS[:3]):
        assert secret not in stderr
    assert stderr.count("****") == 4


def test_a_check_worker_redacts_the_password_of_its_nats_url(tmp_path: Path) -> None:
    stderr = _stderr_of(
        """
        import logging
        from augenmass.cluster.worker import Worker, WorkerOptions
        from augenmass.core.logfmt import setup_logging

        setup_logging("INFO")
        Worker(WorkerOptions("nats://office:Nats-Pass-44@127.0.0.1:4222", zone="office"))
        logging.getLogger("augenmass.cluster").warning("cannot reach %s", "Nats-Pass-44")
        """,
        tmp_path,
    )
    assert "cannot reach" in stderr and "Nats-Pass-44" not in stderr and "****" in stderr
