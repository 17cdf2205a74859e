"""Mutual TLS: ``kodiak serve --tls-client-ca`` requires client certificates signed by that CA;
ADBC, ``pyarrow.flight`` and the ``kodiak`` command connect with one; ``kodiak tls-client-cert``
makes them."""

from __future__ import annotations

import json
from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.flight as flight
import pytest
from adbc_driver_flightsql import DatabaseOptions
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import engine
from kodiak_flight.admin import ACTION_INFO
from kodiak_flight.client import ClientError, Remote
from kodiak_flight.server import KodiakFlightServer
from kodiak_flight.tlscert import client_cert, make_ca, self_signed

from .cli.conftest import _clean_env, kodiak, serve_proc  # noqa: F401 (an autouse fixture)
from .flight.conftest import running


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files: the server's self-signed pair, a CA and a client pair it signed, and a
    client pair signed by another CA."""
    d = tmp_path_factory.mktemp("pki")
    ca, ca_key = make_ca()
    other_ca, other_ca_key = make_ca("some other CA")
    files = {}
    pairs = {"server": self_signed(["localhost", "127.0.0.1"]), "ca": (ca, ca_key),
             "client": client_cert(ca, ca_key, "ann"),
             "stranger": client_cert(other_ca, other_ca_key, "ann")}
    for name, (cert, key) in pairs.items():
        files[name] = d / f"{name}.pem"
        files[name].write_bytes(cert)
        files[f"{name}_key"] = d / f"{name}-key.pem"
        files[f"{name}_key"].write_bytes(key)
    return files


@pytest.fixture(scope="module")
def uri(pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    db = engine.Database.open(str(tmp_path_factory.mktemp("mtls-db")))
    pair = flight.CertKeyPair(cert=pki["server"].read_bytes(), key=pki["server_key"].read_bytes())
    try:
        with running(db, tls_certificates=[pair], tls_client_ca=pki["ca"].read_bytes()) as srv:
            yield f"grpc+tls://127.0.0.1:{srv.port}"
    finally:
        db.close()


def _adbc_select(uri: str, pki: dict[str, Path], client: str | None) -> list[tuple]:
    kwargs = {DatabaseOptions.TLS_ROOT_CERTS.value: pki["server"].read_text()}
    if client is not None:
        kwargs[DatabaseOptions.MTLS_CERT_CHAIN.value] = pki[client].read_text()
        kwargs[DatabaseOptions.MTLS_PRIVATE_KEY.value] = pki[f"{client}_key"].read_text()
    with flight_sql.connect(uri, db_kwargs=kwargs, autocommit=True) as conn, \
            conn.cursor() as cur:
        cur.execute("SELECT 1 AS one")
        return cur.fetchall()


def test_adbc_with_client_certificate(uri, pki):
    assert _adbc_select(uri, pki, "client") == [(1,)]


def test_adbc_without_client_certificate_fails(uri, pki):
    with pytest.raises(flight_sql.Error):
        _adbc_select(uri, pki, None)


def test_adbc_certificate_of_another_ca_fails(uri, pki):
    with pytest.raises(flight_sql.Error):
        _adbc_select(uri, pki, "stranger")


def _list_actions(uri: str, pki: dict[str, Path], client: str | None) -> list[str]:
    kwargs = {"tls_root_certs": pki["server"].read_bytes()}
    if client is not None:
        kwargs["cert_chain"] = pki[client].read_bytes()
        kwargs["private_key"] = pki[f"{client}_key"].read_bytes()
    with flight.connect(uri, **kwargs) as c:
        return [a.type for a in c.list_actions()]


def test_pyarrow_flight_client(uri, pki):
    assert ACTION_INFO in _list_actions(uri, pki, "client")
    for client in (None, "stranger"):
        with pytest.raises(flight.FlightUnavailableError):
            _list_actions(uri, pki, client)


def test_remote_backend_sends_the_client_certificate(uri, pki):
    """kodiak_flight.client.Remote: SQL through ADBC and Kodiak's actions through
    pyarrow.flight both present the certificate."""
    with Remote(uri, tls_root_certs=pki["server"], tls_client_cert=pki["client"],
                tls_client_key=pki["client_key"]) as backend:
        outcome = backend.execute("SELECT 41 + 1 AS x")
        assert outcome.reader.read_all().to_pydict() == {"x": [42]}
        outcome.close()
        tables, summary = backend.stats()  # the kodiak.info action
        assert "wal_bytes" in summary
    with pytest.raises(ClientError, match="--tls-client-cert"):
        with Remote(uri, tls_root_certs=pki["server"]) as backend:
            backend.execute("SELECT 1")


def test_client_certificate_needs_its_key(pki, tmp_path):
    with pytest.raises(ClientError, match="go together"):
        Remote("grpc+tls://127.0.0.1:1", tls_client_cert=pki["client"])
    with pytest.raises(ClientError, match="go together"):
        Remote("grpc+tls://127.0.0.1:1", tls_client_key=pki["client_key"])
    with pytest.raises(ClientError, match="missing.pem"):
        Remote("grpc+tls://127.0.0.1:1", tls_client_cert=tmp_path / "missing.pem",
               tls_client_key=pki["client_key"])


def test_server_client_ca_needs_tls(db, pki):
    with pytest.raises(ValueError, match="tls_certificates"):
        KodiakFlightServer(db, "grpc://127.0.0.1:0", tls_client_ca=pki["ca"].read_bytes())


# -- the command line -----------------------------------------------------------------------


def test_serve_client_ca_needs_tls_cert(pki):
    r = kodiak("serve", "--port", "0", "--data-dir", "d", "--tls-client-ca", pki["ca"])
    assert r.code == 2
    assert "--tls-client-ca" in r.stderr and "--tls-cert" in r.stderr
    r = kodiak("serve", "--port", "0", "--data-dir", "d", env={"KODIAK_TLS_CLIENT_CA":
                                                                  str(pki["ca"])})
    assert r.code == 2 and "--tls-client-ca" in r.stderr


def test_serve_unreadable_client_ca(pki, tmp_path):
    r = kodiak("serve", "--port", "0", "--data-dir", "d", "--tls-cert", pki["server"],
               "--tls-key", pki["server_key"], "--tls-client-ca", tmp_path / "nope.pem")
    assert r.code == 1 and "nope.pem" in r.stderr
    assert r.err_lines == [line for line in r.err_lines if line.startswith("error: ")]


def test_tls_client_cert_command(tmp_path):
    ca, ca_key = tmp_path / "ca.pem", tmp_path / "ca-key.pem"
    r = kodiak("tls-client-cert", "ann.pem", "ann-key.pem", "--ca-cert", ca, "--ca-key", ca_key,
               "--name", "ann", "--days", "30")
    assert r.code == 0, r.stderr
    assert "new CA" in r.stdout
    for key in (ca_key, tmp_path / "ann-key.pem"):
        assert oct(key.stat().st_mode & 0o777) == "0o600"
    ca_pem = ca.read_bytes()
    # a second certificate from the same (now existing) CA
    r = kodiak("tls-client-cert", "bob.pem", "bob-key.pem", "--ca-cert", ca, "--ca-key", ca_key)
    assert r.code == 0 and "new CA" not in r.stdout and ca.read_bytes() == ca_pem
    ca_cert = x509.load_pem_x509_certificate(ca_pem)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    for name in ("ann", "bob"):
        cert = x509.load_pem_x509_certificate((tmp_path / f"{name}.pem").read_bytes())
        cert.verify_directly_issued_by(ca_cert)  # raises if not signed by the CA
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cn = x509.load_pem_x509_certificate((tmp_path / "ann.pem").read_bytes()).subject
    assert cn.rfc4514_string() == "CN=ann"
    # never overwrites; half a CA is an error
    assert kodiak("tls-client-cert", "ann.pem", "x-key.pem", "--ca-cert", ca,
                  "--ca-key", ca_key).code == 1
    r = kodiak("tls-client-cert", "c.pem", "c-key.pem", "--ca-cert", ca,
               "--ca-key", tmp_path / "missing-key.pem")
    assert r.code == 1 and "missing-key.pem" in r.stderr and not (tmp_path / "c.pem").exists()


def test_cli_end_to_end(tmp_path):
    """Certificates from `kodiak tls-cert` and `kodiak tls-client-cert`, `kodiak serve
    --tls-client-ca`, and `kodiak sql`/`info` with and without a client certificate."""
    assert kodiak("tls-cert", "server.pem", "server-key.pem").code == 0
    assert kodiak("tls-client-cert", "ann.pem", "ann-key.pem", "--ca-cert", "ca.pem",
                  "--ca-key", "ca-key.pem").code == 0
    with serve_proc(tmp_path / "d", "--tls-cert", "server.pem", "--tls-key", "server-key.pem",
                    env={"KODIAK_TLS_CLIENT_CA": str(tmp_path / "ca.pem")}) as (uri, _):
        tls = ["--uri", uri, "--tls-root-certs", "server.pem"]
        r = kodiak("sql", *tls, "--tls-client-cert", "ann.pem", "--tls-client-key",
                   "ann-key.pem", "--format", "json", "select 'mutual' as s")
        assert json.loads(r.stdout) == [{"s": "mutual"}], r.stderr
        r = kodiak("info", *tls, "--json", env={"KODIAK_TLS_CLIENT_CERT": "ann.pem",
                                                "KODIAK_TLS_CLIENT_KEY": "ann-key.pem"})
        assert r.code == 0 and "wal_bytes" in json.loads(r.stdout), r.stderr
        r = kodiak("sql", *tls, "select 1")
        assert r.code == 1 and len(r.err_lines) == 1 and "--tls-client-cert" in r.stderr
        r = kodiak("sql", *tls, "--tls-client-cert", "ann.pem", "select 1")
        assert r.code == 1 and "go together" in r.stderr
