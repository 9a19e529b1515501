"""`augenmass probe` as a Nagios plugin: calls served by the resident probe server.

Each call must look exactly like the in-process command (output, exit code, the caller's
directory and environment), and every way the server can be missing, stale, unsafe or killed
must still give the right answer in-process.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from e2e.helpers import wait_for

SRC = Path(__file__).resolve().parents[2] / "src"


def _env(run_dir: Path, src: Path = SRC, **more: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AUGENMASS_PROBE_RESIDENT="1", AUGENMASS_PROBE_IDLE="60")
    env.update(XDG_RUNTIME_DIR=str(run_dir), PYTHONPATH=str(src), **more)
    return env


def _probe(env: dict[str, str], *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "augenmass", "probe", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def _servers(run_dir: Path) -> list[int]:
    """Pids of resident probe servers listening in run_dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"augenmass.cli.probeserver" in argv and any(str(run_dir).encode() in a for a in argv):
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@pytest.fixture
def run_dir() -> Iterator[Path]:
    # short, as /run/user/UID is: a socket path has at most 107 bytes, and pytest's own
    # directories (popen-gw0/test_a_long_name0/...) leave too few of them
    path = Path(tempfile.mkdtemp(prefix="amp-"))
    yield path
    for pid in _servers(path):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)


def _started(env: dict[str, str], run_dir: Path) -> int:
    """The first call starts the server (and runs in-process); wait until it listens."""
    assert _probe(env, "dummy", "--output", "warming up")[0] == 0
    wait_for(lambda: list((run_dir / "augenmass").glob("*.sock")), 30, "the probe socket")
    return int(wait_for(lambda: _servers(run_dir), 10, "the probe server")[0])


def test_a_call_is_forked_from_the_resident_server_and_answers_like_in_process(
    run_dir: Path,
) -> None:
    env = _env(run_dir)
    server = _started(env, run_dir)
    slow = subprocess.Popen(
        [sys.executable, "-m", "augenmass", "probe", "dummy", "--state", "2"]
        + ["--output", "disk <full>", "--perfdata", "used=91%;80;90", "--sleep", "1.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # while it runs, the check is a process of the resident server, not of the caller
    wait_for(lambda: _children(server), 10, "a call forked by the probe server")
    out, err = slow.communicate(timeout=30)
    in_process = _probe(
        {**env, "AUGENMASS_PROBE_RESIDENT": "0"},
        "dummy",
        "--state",
        "2",
        "--output",
        "disk <full>",
        "--perfdata",
        "used=91%;80;90",
    )
    assert (slow.returncode, out, err) == in_process
    assert out.startswith("DUMMY CRITICAL - disk <full> | used=91%;80;90"), out
    # a usage error is the same UNKNOWN line and exit code as well
    assert _probe(env, "tcp", "--port", "x") == _probe(
        {**env, "AUGENMASS_PROBE_RESIDENT": "0"}, "tcp", "--port", "x"
    )


def test_the_callers_working_directory_and_environment_are_used(
    run_dir: Path, tmp_path: Path
) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)

    class TlsServer(http.server.ThreadingHTTPServer):
        def get_request(self) -> tuple[ssl.SSLSocket, object]:
            sock, peer = self.socket.accept()
            # handshake in the handler's thread: a refused one is closed there, not leaked
            return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), peer

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the probe refusing our certificate is part of the test

    class Quiet(http.server.BaseHTTPRequestHandler):
        def setup(self) -> None:
            self.request.do_handshake()
            super().setup()

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    httpd = TlsServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        site = tmp_path / "site"
        site.mkdir()
        ca.cert_pem.write_to_path(str(site / "ca.pem"))
        env = _env(run_dir)
        server = _started(env, run_dir)
        url = f"https://127.0.0.1:{httpd.server_address[1]}/"
        # a relative CA file: found in the caller's directory, not the server's
        code, out, _ = _probe(env, "http", "--url", url, "--ca-file", "ca.pem", cwd=site)
        assert code == 0 and out.startswith("HTTP OK"), out
        assert _servers(run_dir) == [server]  # served by the one server, which still runs
        code, out, _ = _probe(env, "http", "--url", url, "--ca-file", "ca.pem", cwd=tmp_path)
        assert code != 0 and "ca.pem" in out, out
        # the caller's environment: SSL_CERT_FILE names the CA of a call without --ca-file
        code, out, _ = _probe({**env, "SSL_CERT_FILE": str(site / "ca.pem")}, "http", "--url", url)
        assert code == 0 and out.startswith("HTTP OK"), out
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_killed_server_is_replaced_and_no_call_goes_wrong(run_dir: Path) -> None:
    env = _env(run_dir)
    first = _started(env, run_dir)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: first not in _servers(run_dir), 10, "the server to be gone")
    # its socket is left behind: the call runs in-process and starts a new server
    assert _probe(env, "dummy", "--state", "1", "--output", "low")[:2] == (
        1,
        "DUMMY WARNING - low\n",
    )
    second = wait_for(lambda: _servers(run_dir), 30, "a new probe server")[0]
    assert second != first
    assert _probe(env, "dummy", "--output", "fine")[:2] == (0, "DUMMY OK - fine\n")


def test_a_caller_killed_mid_call_leaves_nothing_behind(run_dir: Path) -> None:
    env = _env(run_dir)
    server = _started(env, run_dir)
    caller = subprocess.Popen(
        [sys.executable, "-m", "augenmass", "probe", "dummy", "--sleep", "1", "-t", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: _children(server), 10, "the call to start")
    caller.kill()  # as Nagios does at its service_check_timeout
    caller.wait(timeout=10)
    wait_for(lambda: not _children(server), 20, "the call to end and be reaped")
    assert _probe(env, "dummy", "--output", "next")[:2] == (0, "DUMMY OK - next\n")


def test_an_unsafe_socket_directory_is_not_used(run_dir: Path) -> None:
    (run_dir / "augenmass").mkdir(mode=0o755)
    os.chmod(run_dir / "augenmass", 0o755)  # open to others: someone could put a socket there
    env = _env(run_dir)
    for _ in range(2):
        assert _probe(env, "dummy", "--output", "x")[:2] == (0, "DUMMY OK - x\n")
    assert list((run_dir / "augenmass").iterdir()) == []
    assert _servers(run_dir) == []


def test_changed_code_ends_the_server_and_the_call_runs_in_process(
    run_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    shutil.copytree(SRC / "augenmass", src / "augenmass", ignore=shutil.ignore_patterns("*.pyc"))
    env = _env(run_dir, src=src)
    server = _started(env, run_dir)
    module = src / "augenmass" / "probes" / "dummy.py"
    module.write_text(module.read_text().replace("The output text.", "The output text!"))
    assert _probe(env, "dummy", "--output", "after")[:2] == (0, "DUMMY OK - after\n")
    wait_for(lambda: server not in _servers(run_dir), 10, "the stale server to end")


def test_an_idle_server_ends_and_removes_its_socket(run_dir: Path) -> None:
    env = _env(run_dir, AUGENMASS_PROBE_IDLE="1")
    server = _started(env, run_dir)
    wait_for(lambda: server not in _servers(run_dir), 20, "the idle server to end")
    assert list((run_dir / "augenmass").glob("*.sock")) == []
