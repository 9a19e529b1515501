"""Which raw request paths the path guard answers 404 before any route (the e2e test in
tests/e2e/test_http_hygiene.py sends them to the real server)."""

from __future__ import annotations

import pytest

from augenmass.api.pathguard import bad_path


@pytest.mark.parametrize(
    "raw",
    [
        b"/",
        b"/static/app.css",
        b"/hosts/web1.example.org/services/disk%20usage",
        b"/hosts/%C3%BCber-host",  # UTF-8 names
        b"/hosts/a..b/.hidden/...",  # dots inside names are names
        b"/api/problems",
        b"*",
    ],
)
def test_ordinary_paths_pass(raw: bytes) -> None:
    assert not bad_path(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"/static/%00x",
        b"/static/a%0d%0aSet-Cookie:x",
        b"/static/%7f",
        b"/static/%ff%fe",
        b"/static/%C3",  # cut UTF-8
        b"/static/..%2f..%2fetc/passwd",
        b"/static/%2e%2e/x",
        b"/static/./app.css",
        b"/a/..",
    ],
)
def test_control_bytes_invalid_utf8_and_dot_segments_are_bad(raw: bytes) -> None:
    assert bad_path(raw)
