"""HTTPS on --listen (settings.http.tls_cert/tls_key) with a certificate renewed by a reload,
the session cookie's Secure flag (settings.http.cookie_secure) and the start-up warning for
plain http on a non-loopback address. All against the real server process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from augenmass.core.plan import HttpSettings
from augenmass.server.listener import plain_http_problem

from .helpers import CLI, ServerProcess, cli, wait_for

pytestmark = pytest.mark.slow

PASSWORD = "brass-lantern-orbit-42"


def write_config(tmp_path: Path, http: str) -> Path:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(f"""
settings: {{max_check_spread: 1s, probe_workers: 0, http: {http}}}
hosts: {{app: {{address: 127.0.0.1, check: {{type: dummy, state: ok}}}}}}
services:
  - {{name: fine, host: app, check_interval: 5s, check: {{type: dummy, state: ok}}}}
""")
    return cfg


def add_user(data: Path, name: str = "ada") -> None:
    data.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [*CLI, "user", "add", name, "--role", "admin", "--password-stdin", "--data", str(data)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def form_login(c: httpx.Client, name: str = "ada") -> httpx.Response:
    """The web UI's login form as a browser sends it: with its hidden fields and Origin."""
    page = c.get("/login")
    assert page.status_code == 200
    hidden = dict(
        re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
    )
    form = {**hidden, "name": name, "password": PASSWORD, "next": "/"}
    origin = f"{c.base_url.scheme}://{c.base_url.netloc.decode()}"
    # The form's token cookie is Secure: a browser sends it back to http://127.0.0.1 (loopback
    # is a secure context), httpx only over https; so it is sent here as the browser would.
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    return c.post("/login", data=form, headers={"Origin": origin, "Cookie": cookie})


class TlsServer(ServerProcess):
    """The server with HTTPS on --listen: its health is asked over TLS, verified."""

    def __init__(self, config: Path, data: Path, ca: trustme.CA) -> None:
        super().__init__(config, data)
        self.verify = ssl.create_default_context()
        ca.configure_trust(self.verify)

    def health(self) -> dict[str, object]:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
        url = f"https://127.0.0.1:{self.port}/api/health"
        resp = httpx.get(url, verify=self.verify, timeout=2)
        return resp.json()  # type: ignore[no-any-return]

    def served_cert(self) -> bytes:
        """The certificate a new connection gets (DER), verified against the test CA."""
        with (
            socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
            self.verify.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            return der


def _write_cert(cert: trustme.LeafCert, dest: Path) -> bytes:
    cert.cert_chain_pems[0].write_to_path(str(dest / "cert.pem"))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(dest / "cert.pem"), append=True)
    cert.private_key_pem.write_to_path(str(dest / "key.pem"))
    return ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    d = tmp_path / "tls"
    d.mkdir()
    return d


def test_https_listener_serves_a_renewed_certificate_after_sighup(
    tmp_path: Path, tls_dir: Path
) -> None:
    ca = trustme.CA()
    first = _write_cert(ca.issue_cert("127.0.0.1"), tls_dir)
    http = f"{{tls_cert: {tls_dir / 'cert.pem'}, tls_key: {tls_dir / 'key.pem'}}}"
    server = TlsServer(write_config(tmp_path, http), tmp_path / "data", ca).start()
    silent: list[socket.socket] = []
    try:
        # Connected, no ClientHello: closed after the head timeout like plain idle ones (asyncio
        # alone waits 60 s for a handshake).
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
        opened = time.monotonic()
        assert server.served_cert() == first
        # plain http on the TLS port is not answered as http
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/api/health", timeout=2)

        renewed = _write_cert(ca.issue_cert("127.0.0.1", "localhost"), tls_dir)
        assert renewed != first
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGHUP)
        wait_for(lambda: server.served_cert() == renewed, 10, "the renewed certificate")

        # A config refused on reload does not keep a renewed certificate out.
        cfg = server.config.read_text()
        server.config.write_text(cfg + "\nnonsense: [\n")
        third = _write_cert(ca.issue_cert("127.0.0.1"), tls_dir)
        os.kill(server.proc.pid, signal.SIGHUP)
        wait_for(lambda: server.served_cert() == third, 10, "the certificate despite the config")
        assert "reload refused" in server.log.read_text()
        server.config.write_text(cfg)
        renewed = third

        # A broken renewal: an ERROR, and the good certificate stays.
        (tls_dir / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnope\n")
        os.kill(server.proc.pid, signal.SIGHUP)
        wait_for(lambda: "TLS certificate not reloaded" in server.log.read_text(), 10, "error")
        assert "level=error" in next(
            line for line in server.log.read_text().splitlines() if "not reloaded" in line
        )
        assert server.served_cert() == renewed
        assert server.health()  # and it still answers

        for sock in silent:
            sock.settimeout(max(0.1, opened + 20 - time.monotonic()))
            assert sock.recv(1) == b""  # closed by the server (a timeout raises instead)
        assert time.monotonic() - opened > 8
    finally:
        for sock in silent:
            sock.close()
        server.stop()
    assert "Traceback" not in server.log.read_text()


def test_a_bad_certificate_at_start_is_one_error_line(tmp_path: Path, tls_dir: Path) -> None:
    (tls_dir / "cert.pem").write_text("not a certificate\n")
    (tls_dir / "key.pem").write_text("not a key\n")
    http = f"{{tls_cert: {tls_dir / 'cert.pem'}, tls_key: {tls_dir / 'key.pem'}}}"
    cfg = write_config(tmp_path, http)
    data = tmp_path / "data"
    proc = subprocess.run(
        [*CLI, "run", "--config", str(cfg), "--data", str(data), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "cannot load the TLS certificate" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout


def test_check_config_wants_both_tls_files_and_absolute_paths(tmp_path: Path) -> None:
    out = cli("check-config", str(write_config(tmp_path, "{tls_cert: cert.pem}")))
    assert out.returncode == 2
    assert "absolute path" in out.stdout + out.stderr
    out = cli("check-config", str(write_config(tmp_path, "{tls_cert: /x/cert.pem}")))
    assert out.returncode == 2 and "tls_key" in out.stdout + out.stderr


@pytest.fixture
def plain_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    add_user(tmp_path / "data")
    srv = ServerProcess(write_config(tmp_path, request.param), tmp_path / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("plain_server", "secure"),
    [("{}", True), ("{cookie_secure: false}", False)],
    indirect=["plain_server"],
    ids=["default", "cookie_secure-false"],
)
def test_cookie_secure_setting_decides_the_session_cookies_secure_flag(
    plain_server: ServerProcess, secure: bool
) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{plain_server.port}", timeout=10) as c:
        resp = form_login(c)
        assert resp.status_code == 303, resp.text
        cookie = resp.headers["set-cookie"].lower()
        assert "augenmass_session=" in cookie and "httponly" in cookie
        assert ("; secure" in cookie) is secure
        if not secure:  # a browser on the LAN keeps and sends it back over http
            assert c.get("/", follow_redirects=False).status_code == 200
            return
    # A reload applies a change: the next login's cookie follows the new setting.
    write_config(plain_server.config.parent, "{cookie_secure: false}")
    assert plain_server.proc is not None
    os.kill(plain_server.proc.pid, signal.SIGHUP)
    wait_for(lambda: "msg=reloaded" in plain_server.log.read_text(), 10, "the reload")
    with httpx.Client(base_url=f"http://127.0.0.1:{plain_server.port}", timeout=10) as c:
        resp = form_login(c)
        assert resp.status_code == 303 and "; secure" not in resp.headers["set-cookie"].lower()


def test_plain_http_problem_only_for_a_secure_cookie_on_plain_http_off_loopback() -> None:
    plain = HttpSettings()
    for host in ("0.0.0.0", "::", "192.168.1.10", "monitor.lan"):
        assert plain_http_problem(host, plain), host
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert plain_http_problem(host, plain) is None, host
    assert plain_http_problem("0.0.0.0", HttpSettings(cookie_secure=False)) is None
    assert plain_http_problem("0.0.0.0", HttpSettings(tls_cert="/c", tls_key="/k")) is None
    assert plain_http_problem("0.0.0.0", HttpSettings(trusted_proxies=("127.0.0.1",))) is None


def _start_log(tmp_path: Path, http: str, name: str) -> str:
    """The log of a server that listens on 0.0.0.0 in a network namespace of its own (only
    its loopback): nothing outside can reach it. Ends it once it has started."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("needs root and unshare (CI=true: this test must run)")
        pytest.skip("needs root and unshare for a private network namespace")
    (tmp_path / name).mkdir()
    cfg = write_config(tmp_path / name, http)
    data = tmp_path / name / "data"
    log = tmp_path / name / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                "unshare",
                "-n",
                "sh",
                "-c",
                'ip link set lo up && exec "$@"',
                "sh",
                sys.executable,
                "-m",
                "augenmass",
                "run",
                "--config",
                str(cfg),
                "--data",
                str(data),
                "--listen",
                "0.0.0.0:8080",
            ],
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        try:
            # the warning comes before uvicorn's start line
            wait_for(lambda: "Started server process" in log.read_text(), 30, "the start")
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return log.read_text()


def test_plain_http_on_a_non_loopback_address_warns_at_start(tmp_path: Path) -> None:
    text = _start_log(tmp_path, "{}", "secure")
    warning = [line for line in text.splitlines() if "plain http" in line]
    assert len(warning) == 1 and "level=warning" in warning[0], text[-2000:]
    assert "cookie_secure: false" in warning[0] and "tls_cert" in warning[0]
    quiet = _start_log(tmp_path, "{cookie_secure: false}", "lan")
    assert "plain http" not in quiet
