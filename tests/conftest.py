import pytest

import engine


@pytest.fixture
def db(tmp_path):
    d = engine.Database.open(str(tmp_path / "db"))
    yield d
    d.close()


@pytest.fixture
def reopen(tmp_path):
    """Close a database and open the same directory again."""

    def _reopen(d, **kw):
        d.close()
        return engine.Database.open(str(tmp_path / "db"), **kw)

    return _reopen
