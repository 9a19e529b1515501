"""The server behind a real nginx with HTTPS (the set-up of docs/reverse-proxy.md): the status
page, a login whose Secure cookie works on the next page, redirects that stay on the proxy,
and not one client address in the server's log or data directory."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from .helpers import ServerProcess, free_port, wait_for
from .test_https_listener import PASSWORD, add_user, form_login, write_config

pytestmark = pytest.mark.slow

CLIENT = "127.0.0.77"  # the browser's address: it must reach nothing the server keeps


def _nginx_conf(d: Path, port: int, upstream: int) -> str:
    # The site part is docs/reverse-proxy.md's; only paths and ports differ.
    user = "user root root;" if os.geteuid() == 0 else ""  # workers must reach tmp_path
    return f"""
{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    server {{
        listen 127.0.0.1:{port} ssl;
        server_name monitor.test;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;

        client_max_body_size 2m;
        client_header_timeout 10s;
        client_body_timeout 30s;
        keepalive_timeout 30s;

        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 5s;
            proxy_send_timeout 60s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


@pytest.fixture
def nginx_bin() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (CI=true: this test must run; apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return found


@pytest.fixture
def proxied(tmp_path: Path, nginx_bin: str) -> Iterator[tuple[ServerProcess, str, trustme.CA]]:
    data = tmp_path / "data"
    add_user(data)
    cfg = write_config(tmp_path, "{trusted_proxies: [127.0.0.1]}")
    server = ServerProcess(cfg, data).start()
    d = tmp_path / "nginx"
    d.mkdir()
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "monitor.test")
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    for i, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(str(d / "cert.pem"), append=i > 0)
    port = free_port()
    (d / "nginx.conf").write_text(_nginx_conf(d, port, server.port))
    nginx = subprocess.Popen(
        [nginx_bin, "-c", str(d / "nginx.conf"), "-p", str(d), "-e", str(d / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # it writes to error.log (-e)
        start_new_session=True,
    )
    url = f"https://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if nginx.poll() is not None:
                raise RuntimeError(f"nginx exited: {(d / 'error.log').read_text()}")
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True

        wait_for(up, 15, "nginx")
        yield server, url, ca
    finally:
        nginx.terminate()
        nginx.wait(timeout=15)
        server.stop()


def _browser(url: str, ca: trustme.CA) -> httpx.Client:
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    transport = httpx.HTTPTransport(local_address=CLIENT, verify=verify)
    return httpx.Client(base_url=url, transport=transport, timeout=10)


def test_behind_nginx_status_login_and_redirects_work_and_no_address_is_kept(
    proxied: tuple[ServerProcess, str, trustme.CA],
) -> None:
    server, url, ca = proxied
    with _browser(url, ca) as c:
        assert c.get("/status").status_code == 200

        to_login = c.get("/", follow_redirects=False)
        assert to_login.status_code == 303
        where = to_login.headers["location"]
        assert where.startswith(("/login", f"{url}/login")), where  # stays on the proxy

        failed = c.post("/login", data={"name": "ada", "password": "wrong-password-123"})
        assert failed.status_code in (401, 403, 429)

        resp = form_login(c)
        assert resp.status_code == 303, resp.text[:500]
        assert resp.headers["location"].startswith(("/", f"{url}/"))
        cookie = resp.headers["set-cookie"].lower()
        assert "; secure" in cookie and "httponly" in cookie
        page = c.get("/", follow_redirects=False)
        assert page.status_code == 200 and "ada" in page.text  # the cookie came back
        assert c.get("/api/session").json()["user"] == "ada"
    server.stop()  # everything written and the log closed
    kept = [p for p in server.data.rglob("*") if p.is_file()]
    assert server.log in kept and any(p.suffix == ".db" for p in kept)
    for path in kept:
        assert CLIENT.encode() not in path.read_bytes(), path


def test_behind_nginx_the_login_limit_counts_each_client_not_the_proxy(
    proxied: tuple[ServerProcess, str, trustme.CA],
) -> None:
    """trusted_proxies: the server believes nginx's X-Forwarded-For, so a sprayer behind the
    proxy is limited on its own address while another client still logs in (were the proxy's
    address counted, both would be refused)."""
    server, url, ca = proxied
    verify = ssl.create_default_context()
    ca.configure_trust(verify)

    def client(addr: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=addr, verify=verify)
        return httpx.Client(base_url=url, transport=transport, timeout=30)

    with client("127.0.0.78") as sprayer:
        codes = []
        for i in range(40):  # bounded: the source limit is 20 failures
            resp = sprayer.post("/api/login", json={"name": f"nobody{i}", "password": "x" * 12})
            codes.append(resp.status_code)
            if resp.status_code == 429:
                break
        assert codes[-1] == 429 and codes.count(401) >= 10, codes
    with client("127.0.0.79") as member:
        resp = member.post("/api/login", json={"name": "ada", "password": PASSWORD})
        assert resp.status_code == 200, resp.text
    server.stop()
    for path in (p for p in server.data.rglob("*") if p.is_file()):
        assert b"127.0.0.78" not in path.read_bytes() and b"127.0.0.79" not in path.read_bytes()
