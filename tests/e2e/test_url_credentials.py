"""Credentials in an http check's URL are used as basic auth and never shown: not in the API,
the history, the public status page, the database files or the server log (real server process,
real HTTP target on 127.0.0.1)."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.proc import ServerProcess, cli, client, free_port

pytestmark = pytest.mark.slow

GOOD_PW = "tr0ub4dor-url-secret"
BAD_PW = "hunter2-url-secret"


class _Auth(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        wanted = "Basic " + base64.b64encode(f"monitor:{GOOD_PW}".encode()).decode()
        code = 200 if self.headers.get("Authorization") == wanted else 401
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def target() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Auth)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, target: int) -> Iterator[tuple[Any, str]]:
    tmp = tmp_path_factory.mktemp("urlcreds")
    closed = free_port()  # nothing listens: the bad URL fails on its port number before that
    cfg = tmp / "augenmass.yaml"
    cfg.write_text(
        f"""
settings: {{max_check_spread: 100ms}}
hosts:
  web: {{address: 127.0.0.1, check: none}}
services:
  - name: site
    host: web
    check_interval: 1s
    max_check_attempts: 1
    public: {{name: Site, show_output: true}}
    check: {{type: http, url: "http://monitor:{GOOD_PW}@127.0.0.1:{target}/private"}}
  - name: broken
    host: web
    check_interval: 1s
    max_check_attempts: 1
    public: {{name: Broken, show_output: true}}
    check: {{type: http, url: "http://monitor:{BAD_PW}@127.0.0.1:{closed}99/"}}
"""
    )
    data = tmp / "data"
    made = cli("token", "create", "reader", "--scope", "read", "--data", str(data))
    assert made.returncode == 0, made.stderr
    server = ServerProcess(cfg, data).start()
    yield server, made.stdout.strip()
    server.stop()


def _service(c: httpx.Client, name: str, token: str) -> dict[str, Any]:
    got = c.get(f"/api/services/web/{name}", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200, got.text
    result: dict[str, Any] = got.json()
    return result


def _checked(c: httpx.Client, name: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view = _service(c, name, token)
        if view.get("output"):
            return view
        time.sleep(0.1)
    raise AssertionError(f"{name} was not checked within 20 s")


def test_url_credentials_are_sent_as_basic_auth(running: tuple[Any, str]) -> None:
    server, token = running
    with client(server) as c:
        view = _checked(c, "site", token)
    assert view["state"] == "OK", view["output"]  # the target answers 401 without them
    assert "HTTP/1.0 200" in view["output"]


def test_url_password_appears_nowhere(running: tuple[Any, str]) -> None:
    server, token = running
    auth = {"Authorization": f"Bearer {token}"}
    with client(server) as c:
        broken = _checked(c, "broken", token)
        _checked(c, "site", token)
        assert broken["state"] == "UNKNOWN", broken["output"]
        assert "invalid port in url 'http://****@127.0.0.1:" in broken["output"]
        seen = [
            str(broken),
            c.get("/api/services", headers=auth).text,
            c.get("/api/problems", headers=auth).text,
            c.get("/api/history", params={"host": "web"}, headers=auth).text,
            c.get("/status").text,
        ]
        assert "invalid port" in seen[-1]  # the status page does show the output
    server.stop()  # the database and log as written, WAL included
    files = server.files()
    assert any(p.name.endswith(".log") for p in files) and len(files) > 1
    seen += [blob.decode("latin-1") for blob in files.values()]
    for text in seen:
        assert BAD_PW not in text and GOOD_PW not in text
        assert "monitor:" not in text
