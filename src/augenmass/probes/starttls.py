"""A guard for STARTTLS upgrades of asyncio streams.

Bytes that arrive in the same read as the server's "go ahead" answer sit in the StreamReader's
buffer, and asyncio's start_tls leaves them there: after the handshake they would be read as if
they had come over TLS. That is the STARTTLS command-injection hole (CVE-2011-0411 and its
kin): a man in the middle appends plain-text answers that the client then trusts. A probe
must hang up instead.
"""

from __future__ import annotations

import asyncio

INJECTION = "the server sent more after its STARTTLS answer (plain text that would pass as TLS)"


def pending_plaintext(reader: asyncio.StreamReader) -> int:
    """Bytes already received and not yet read. Call it right before start_tls, with no await
    in between: from then on the TLS layer reads the socket, and stray bytes fail the
    handshake instead."""
    return len(getattr(reader, "_buffer", b""))
