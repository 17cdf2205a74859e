import pytest

import kodiak_flight


@pytest.fixture
def con():
    c = kodiak_flight.connect()
    yield c
    c.close()


@pytest.fixture
def trips(con):
    con.execute("CREATE TABLE trips (id BIGINT PRIMARY KEY, city VARCHAR, km DOUBLE)")
    con.execute("INSERT INTO trips VALUES (1, 'oslo', 12.5), (2, 'rome', 3.0), "
                "(3, 'oslo', 7.5), (4, NULL, NULL)")
    return con
