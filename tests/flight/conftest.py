"""Fixtures: a real Kodiak Flight SQL server on loopback (port 0) over a temporary database."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.flight as flight
import pytest

import engine
from kodiak_flight.server import KodiakFlightServer


def session_factory() -> Any:
    """The SQL layer's Session class (what the server uses by default)."""
    from kodiak_flight.sql.session import Session

    return Session


_names = itertools.count()


@pytest.fixture
def name() -> str:
    """A table name no other test uses."""
    return f"t{next(_names)}"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    database = engine.Database.open(str(tmp_path_factory.mktemp("kodiak-db")))
    yield database
    database.close()


@contextlib.contextmanager
def running(db: Any, **kwargs: Any) -> Iterator[KodiakFlightServer]:
    scheme = "grpc+tls" if kwargs.get("tls_certificates") else "grpc"
    server = KodiakFlightServer(db, f"{scheme}://127.0.0.1:0", **kwargs)
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def server(db: Any) -> Iterator[KodiakFlightServer]:
    with running(db) as srv:
        yield srv


@pytest.fixture(scope="module")
def uri(server: KodiakFlightServer) -> str:
    return f"grpc://127.0.0.1:{server.port}"


@pytest.fixture
def conn(uri: str) -> Iterator[flight_sql.Connection]:
    with flight_sql.connect(uri, autocommit=True) as connection:
        yield connection


@pytest.fixture
def client(uri: str) -> Iterator[flight.FlightClient]:
    c = flight.connect(uri)
    yield c
    c.close()
