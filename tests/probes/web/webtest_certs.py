"""Certificates for the web probe tests, made with `cryptography` at test time.

P-256 keys (generated in microseconds), a root CA, intermediates, leaves with chosen names,
lifetimes, key types and signature hashes; PEM files ready for ssl.SSLContext.load_cert_chain.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

DAY = dt.timedelta(days=1)


@dataclass
class Issued:
    cert: x509.Certificate
    key: Any

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key(kind: str = "ec") -> Any:
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "dsa2048":
        # the test wants what cryptography deprecates; its warning is expected here only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from cryptography.hazmat.primitives.asymmetric import dsa

            return dsa.generate_private_key(key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(
    cn: str,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    days: float = 90,
    not_before_days: float = -1,
    names: tuple[str, ...] = (),
    key: str = "ec",
    hash_name: str = "sha256",
) -> Issued:
    """A certificate for `cn`; self-signed when `issuer` is None. `days` may be negative
    (already expired)."""
    private = _key(key)
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + not_before_days * DAY)
        .not_valid_after(now + days * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        sans: list[x509.GeneralName] = []
        for name in names or (cn,):
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    algorithm = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}[hash_name]
    signer = issuer.key if issuer else private
    return Issued(builder.sign(signer, algorithm), private)


@dataclass
class Pki:
    """One root, one intermediate; leaves are issued by the intermediate."""

    root: Issued
    intermediate: Issued
    root_file: Path

    def leaf(self, cn: str = "localhost", **kw: Any) -> Issued:
        return issue(cn, issuer=self.intermediate, **kw)


def make_pki(folder: Path, intermediate_days: float = 3650) -> Pki:
    root = issue("augenmass test root", ca=True, days=3650)
    inter = issue("augenmass test intermediate", issuer=root, ca=True, days=intermediate_days)
    root_file = folder / "root.pem"
    root_file.write_bytes(root.pem())
    return Pki(root, inter, root_file)


def write_chain(folder: Path, name: str, leaf: Issued, *chain: Issued) -> tuple[Path, Path]:
    """(certificate chain file, key file) for load_cert_chain."""
    cert_file = folder / f"{name}.pem"
    key_file = folder / f"{name}.key"
    cert_file.write_bytes(leaf.pem() + b"".join(c.pem() for c in chain))
    key_file.write_bytes(leaf.key_pem())
    return cert_file, key_file
