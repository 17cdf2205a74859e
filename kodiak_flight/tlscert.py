"""Certificates for ``kodiak serve`` with TLS (testing, private networks).

* :func:`self_signed` / :func:`write_pair`: a self-signed server certificate for
  ``--tls-cert/--tls-key``.
* :func:`make_ca` / :func:`client_cert` / :func:`write_client_pair`: a small CA and client
  certificates it signs, for mutual TLS (``serve --tls-client-ca`` and clients'
  ``--tls-client-cert/--tls-client-key``).

For anything public, use certificates from your CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import Any


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: str, issuer: Any, public_key: Any, days: int) -> Any:
    """A certificate builder for ``subject`` issued by ``issuer`` (an ``x509.Name``)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def self_signed(hosts: list[str], days: int = 365) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) valid for ``hosts`` (names or IP addresses)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for h in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    cert = (_builder(hosts[0], None, key.public_key(), days)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def make_ca(name: str = "Kodiak client CA", days: int = 3650) -> tuple[bytes, bytes]:
    """(CA certificate PEM, CA private key PEM): a CA that signs client certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False)
    cert = (_builder(name, None, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def client_cert(ca_cert: bytes, ca_key: bytes, name: str = "kodiak-client",
                days: int = 365) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a client certificate for ``name`` signed by the
    CA (``ca_cert``/``ca_key`` PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca = x509.load_pem_x509_certificate(ca_cert)
    signer = serialization.load_pem_private_key(ca_key, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False)
    cert = (_builder(name, ca.subject, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.public_key()), critical=False)
            .sign(signer, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    if not private:
        path.write_bytes(data)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_pair(cert_path: Path, key_path: Path, hosts: list[str], days: int = 365) -> None:
    cert, key = self_signed(hosts, days)
    _write(cert_path, cert)
    _write(key_path, key, private=True)


def write_client_pair(cert_path: Path, key_path: Path, ca_cert_path: Path, ca_key_path: Path,
                      name: str = "kodiak-client", days: int = 365) -> bool:
    """Write a client certificate and key signed by the CA in ``ca_cert_path``/``ca_key_path``,
    creating that CA first when neither file exists; True if it created the CA."""
    created = not ca_cert_path.exists() and not ca_key_path.exists()
    if created:
        ca_cert, ca_key = make_ca()
        _write(ca_cert_path, ca_cert)
        _write(ca_key_path, ca_key, private=True)
    cert, key = client_cert(ca_cert_path.read_bytes(), ca_key_path.read_bytes(), name, days)
    _write(cert_path, cert)
    _write(key_path, key, private=True)
    return created
