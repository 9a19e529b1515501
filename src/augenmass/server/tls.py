"""The listener's TLS context: TLS 1.2 or newer, and a certificate that a reload renews."""

from __future__ import annotations

import logging
import ssl

log = logging.getLogger("augenmass.http")


def _no_password() -> str:
    # OpenSSL would otherwise prompt on the terminal for an encrypted key (and block the loop)
    raise ssl.SSLError("the private key is encrypted; give augenmass an unencrypted key file")


def make_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key, password=_no_password)
    return ctx


class Certificate:
    """One SSLContext for the listener's whole life: loading a new chain into it serves the
    new certificate to new connections (the ones open keep theirs)."""

    def __init__(self, cert: str, key: str) -> None:
        self.context = make_context(cert, key)  # an error here stops the start, said once

    def reload(self, cert: str, key: str) -> bool:
        try:
            make_context(cert, key)  # tried apart first: a failed load would leave it half-done
            self.context.load_cert_chain(cert, key, password=_no_password)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.error(
                "TLS certificate not reloaded; the old one is still served",
                extra={"cert": cert, "error": describe_error(exc)},
            )
            return False
        log.info("TLS certificate reloaded", extra={"cert": cert})
        return True


def describe_error(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError):
        if "PEM" in str(exc):
            return "not a PEM certificate (chain) and private key"
        if "KEY_VALUES_MISMATCH" in str(exc):
            return "the private key does not belong to the certificate"
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
