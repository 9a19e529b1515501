"""P5 (reliability.md §4.3): monitoring a mail server or phone system never records who mails
or calls whom. The probes run against fakes that put sentinel addresses (and a password) into
banners, replies and errors; the results go into a real SQLite store; the files are grepped."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from net_helpers import SMTP_PASSWORD, SMTP_USER, SipFactory, TcpFactory, job
from net_servers import imap_answer, line_server, pop3_answer, sip_reply

from augenmass.runner import Runner
from augenmass.store import WriteBatch, open_store

SENTINELS = (b"alice-sentinel", b"bob-sentinel", b"Secret-Sentinel", SMTP_PASSWORD.encode())


def _found_in_files(folder: Path) -> list[tuple[str, bytes]]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the store wrote no file"
    return [(p.name, s) for p in files for s in SENTINELS if s in p.read_bytes()]


async def test_sentinels_reach_neither_store_nor_log(
    tmp_path: Path,
    runner: Runner,
    smtp_server: object,
    sip_udp: SipFactory,
    tcp_server: TcpFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_port = await smtp_server(starttls=False)  # type: ignore[operator]
    sip_port, _ = await sip_udp(lambda r: [sip_reply(r, 486, "Busy: sip:bob-sentinel@pbx")])
    imap = await tcp_server(
        line_server(b"* OK hi alice-sentinel@example.org\r\n", imap_answer("x"))
    )
    pop = await tcp_server(line_server(b"+OK <alice-sentinel@example.org>\r\n", pop3_answer("x")))
    banner = await tcp_server(line_server(b"220 bob-sentinel@example.org\r\n", lambda _: None))
    jobs = [
        job("smtp", {"port": smtp_port, "user": SMTP_USER, "password": SMTP_PASSWORD}),
        job("smtp", {"port": smtp_port, "user": SMTP_USER, "password": "Secret-Sentinel"}),
        job("sip", {"port": sip_port, "uri": "sip:bob-sentinel@127.0.0.1", "expect_codes": [200]}),
        job(
            "imap",
            {"port": imap, "user": "alice-sentinel@example.org", "password": "Secret-Sentinel"},
        ),
        job("pop3", {"port": pop, "user": "alice-sentinel", "password": "Secret-Sentinel"}),
        job("tcp", {"port": banner, "expect": ["nope"]}, timeout=1),
    ]
    results = [await runner.run(each) for each in jobs]
    assert [r.status for r in results] == [0, 2, 1, 2, 2, 1], [r.output for r in results]
    store = await open_store(str(tmp_path / "augenmass.db"))
    try:
        await store.write(WriteBatch(results=results))
    finally:
        await store.close()
    assert _found_in_files(tmp_path) == []
    # only our own loggers: the fake servers (aiosmtpd's mail.log) may log what they like
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("augenmass")]
    logged = "\n".join(ours).encode()
    for sentinel in SENTINELS:
        assert sentinel not in logged
