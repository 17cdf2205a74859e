"""Password authentication, bearer tokens and TLS."""

from __future__ import annotations

import datetime
import ipaddress
import time

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.auth import Authenticator, hash_password, verify_password

from .conftest import running
from .helpers import query

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def auth() -> Authenticator:
    return Authenticator("kodiak", hash_password(PASSWORD, n=2**10))


@pytest.fixture(scope="module")
def auth_uri(db, auth):
    with running(db, auth=auth) as srv:
        yield f"grpc://127.0.0.1:{srv.port}"


def test_password_hash_roundtrip():
    encoded = hash_password("s3cret", n=2**10)
    assert encoded.startswith("scrypt$1024$8$1$")
    assert "s3cret" not in encoded
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret!", encoded)
    assert not verify_password("s3cret", "scrypt$garbage")
    assert hash_password("s3cret", n=2**10) != encoded  # salted


def test_from_env_keeps_only_a_hash():
    assert Authenticator.from_env({}) is None
    a = Authenticator.from_env({"KODIAK_PASSWORD": "pw", "KODIAK_USER": "ann"})
    assert a is not None and a.user == "ann"
    assert "pw" not in vars(a).values()
    b = Authenticator.from_env({"KODIAK_PASSWORD_HASH": hash_password("pw", n=2**10)})
    assert b is not None and b.user == "kodiak"
    with pytest.raises(ValueError):
        Authenticator("kodiak", "plaintext")


def test_tokens(auth):
    token = auth.issue_token("kodiak", "sid-1")
    info = auth.check_token(token)
    assert (info.user, info.sid) == ("kodiak", "sid-1")
    body = token.split(".")
    tampered = ".".join([body[0], body[1][:-2] + ("AA" if body[1][-2:] != "AA" else "BB"),
                         body[2]])
    for bad in (tampered, "k1.x.y", "nonsense", ""):
        with pytest.raises(flight.FlightUnauthenticatedError):
            auth.check_token(bad)
    other = Authenticator("kodiak", hash_password("x", n=2**10))
    with pytest.raises(flight.FlightUnauthenticatedError):
        other.check_token(token)  # signed with another key
    short = Authenticator("kodiak", hash_password("x", n=2**10), token_ttl=-1)
    with pytest.raises(flight.FlightUnauthenticatedError, match="expired"):
        short.check_token(short.issue_token("kodiak"))


def test_adbc_with_password(auth_uri):
    with flight_sql.connect(auth_uri, db_kwargs={"username": "kodiak", "password": PASSWORD},
                            autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT 7 AS x")
        assert cur.fetchall() == [(7,)]


@pytest.mark.parametrize("creds", [{"username": "kodiak", "password": "wrong"},
                                   {"username": "mallory", "password": PASSWORD}])
def test_adbc_wrong_credentials(auth_uri, creds):
    with pytest.raises(adbc_driver_manager.Error, match="invalid user name or password"):
        with flight_sql.connect(auth_uri, db_kwargs=creds, autocommit=True) as conn:
            conn.cursor().execute("SELECT 1")


def test_adbc_without_credentials(auth_uri):
    with pytest.raises(adbc_driver_manager.Error, match="authentication required"):
        with flight_sql.connect(auth_uri, autocommit=True) as conn:
            conn.cursor().execute("SELECT 1")


def test_pyarrow_basic_then_bearer(auth_uri):
    client = flight.connect(auth_uri)
    with pytest.raises(flight.FlightUnauthenticatedError):
        query(client, "SELECT 1 AS x")
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.authenticate_basic_token("kodiak", "nope")
    key, value = client.authenticate_basic_token("kodiak", PASSWORD)
    assert key == b"authorization" and value.startswith(b"Bearer ")
    options = flight.FlightCallOptions(headers=[(key, value)])
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(_select_one()), options)
    assert client.do_get(info.endpoints[0].ticket, options).read_all().num_rows == 1
    bad = flight.FlightCallOptions(headers=[(b"authorization", value[:-3] + b"abc")])
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.get_flight_info(flight.FlightDescriptor.for_command(_select_one()), bad)
    client.close()


def _select_one() -> bytes:
    from kodiak_flight.flightsql import pack
    from kodiak_flight.proto import FlightSql_pb2 as pb

    return pack(pb.CommandStatementQuery(query="SELECT 1 AS x"))


class _Capture(flight.ClientMiddlewareFactory):
    def __init__(self) -> None:
        self.seen: list[dict] = []

    def start_call(self, info):
        factory = self

        class M(flight.ClientMiddleware):
            def received_headers(self, headers):
                factory.seen.append(headers)

        return M()


def test_token_renewal(db):
    auth = Authenticator("kodiak", hash_password(PASSWORD, n=2**10), token_ttl=2.0)
    with running(db, auth=auth) as srv:
        capture = _Capture()
        client = flight.connect(f"grpc://127.0.0.1:{srv.port}", middleware=[capture])
        key, value = client.authenticate_basic_token("kodiak", PASSWORD)
        time.sleep(1.1)  # past half the lifetime
        options = flight.FlightCallOptions(headers=[(key, value)])
        client.get_flight_info(flight.FlightDescriptor.for_command(_select_one()), options)
        renewed = [h["authorization"][0] for h in capture.seen if "authorization" in h]
        assert renewed and renewed[-1] != value.decode()
        client.close()


# ---------------------------------------------------------------------------------------------
# TLS


@pytest.fixture(scope="module")
def certificate() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem


def test_tls(db, auth, certificate):
    cert_pem, key_pem = certificate
    pair = flight.CertKeyPair(cert=cert_pem, key=key_pem)
    with running(db, auth=auth, tls_certificates=[pair]) as srv:
        uri = f"grpc+tls://127.0.0.1:{srv.port}"
        client = flight.connect(uri, tls_root_certs=cert_pem)
        header = client.authenticate_basic_token("kodiak", PASSWORD)
        options = flight.FlightCallOptions(headers=[header])
        info = client.get_flight_info(flight.FlightDescriptor.for_command(_select_one()),
                                      options)
        assert client.do_get(info.endpoints[0].ticket, options).read_all().num_rows == 1
        client.close()
        with flight_sql.connect(uri, db_kwargs={
            "username": "kodiak", "password": PASSWORD,
            "adbc.flight.sql.client_option.tls_root_certs": cert_pem.decode(),
        }, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("SELECT 3 AS x")
            assert cur.fetchall() == [(3,)]
        plain = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        with pytest.raises((flight.FlightUnavailableError, pa.ArrowException)):
            plain.authenticate_basic_token("kodiak", PASSWORD)
        plain.close()
