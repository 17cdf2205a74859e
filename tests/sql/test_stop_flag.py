"""The stop check inside a running Acero plan (``interrupt.StopFlag``): read natively, so a
hash join's condition costs no Python call per mini-batch; a set flag stops the plan with the
interrupt's own error; a plan's real errors are still its own; and a plan built after a
stop the caller went past gets a flag of its own."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.acero as ac
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import ExecutionError, QueryCancelled
from kodiak_flight.sql.interrupt import Interrupt

N = 100_000
JOIN = "select count(*) as n from many a join many b on a.x = b.x where a.x % 3 <> b.x % 7"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    db = engine.Database.open(str(tmp_path_factory.mktemp("flag")))
    s = Session(db)
    s.execute("create table many (x bigint)")
    db.insert("many", pa.table({"x": pa.array(range(N), pa.int64())}))
    db.checkpoint()
    yield s
    db.close()


class Counting(Interrupt):
    """An interrupt that counts the checks made in Python."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def check(self) -> None:
        self.calls += 1
        super().check()


def test_a_join_condition_makes_no_python_check_per_mini_batch(session):
    """The join's condition is evaluated for about a hundred mini-batches of candidate rows;
    the checks left in Python are the scans' (a few batches each) and the result's."""
    interrupt = Counting()
    got = session.execute(JOIN, interrupt=interrupt).reader.read_all().to_pylist()
    assert got == [{"n": sum(1 for x in range(N) if x % 3 != x % 7)}]
    assert interrupt.calls < 30, interrupt.calls


def test_a_set_flag_stops_a_plan_with_the_interrupts_error():
    interrupt = Interrupt()
    flag = interrupt.stop_flag()
    t = pa.table({"x": pa.array(range(10))})
    plan = ac.Declaration.from_sequence([
        ac.Declaration("table_source", ac.TableSourceNodeOptions(t)),
        ac.Declaration("filter", ac.FilterNodeOptions(flag.expression))])
    assert plan.to_table().num_rows == 10  # every row kept while the query may run
    interrupt.cancel()
    with pytest.raises(pa.ArrowInvalid):
        plan.to_table()
    assert isinstance(interrupt.stopped_by(), QueryCancelled)
    with pytest.raises(QueryCancelled):  # a plan built after the cancel stops too
        interrupt.check()
    assert interrupt.stop_flag()[0] == 0


def test_a_failed_check_sets_the_flag_and_a_later_plan_gets_a_fresh_one():
    interrupt = Interrupt(deadline=0.0, timeout=1.0)
    flag = interrupt.stop_flag()
    with pytest.raises(Exception, match="time limit"):
        interrupt.check()
    assert flag[0] == 0 and "time limit" in str(interrupt.stopped_by())
    interrupt.deadline = None  # a script that caught the error goes on
    assert interrupt.stop_flag() is not flag and interrupt.stop_flag()[0] == 1
    assert interrupt.stopped_by() is None


def test_a_plans_own_error_is_its_own(session):
    with pytest.raises(ExecutionError, match="could not convert string 'x7' to BIGINT"):
        session.execute("select cast('x' || a.x as bigint) from many a join many b "
                        "on a.x = b.x and a.x = 7 "
                        "where a.x % 3 <> b.x % 7", interrupt=Interrupt()).reader.read_all()


def test_this_pyarrow_reads_the_flag_natively():
    """The supported pyarrow reads a list literal's values where they lie (the premise)."""
    from kodiak_flight.sql.interrupt import flags_read_natively

    assert flags_read_natively()


def test_without_native_flags_joins_still_answer_and_stop(session, monkeypatch):
    """Where a pyarrow copied the literal, plans get no check inside: answers are the same
    and a cancelled query still raises its own error (from the scans' and the reader's
    checks)."""
    from kodiak_flight.sql.executor import checked

    monkeypatch.setattr(checked, "flags_read_natively", lambda: False)
    got = session.execute(JOIN, interrupt=Interrupt()).reader.read_all().to_pylist()
    assert got == [{"n": sum(1 for x in range(N) if x % 3 != x % 7)}]
    interrupt = Interrupt()
    interrupt.cancel()
    with pytest.raises(QueryCancelled):
        session.execute(JOIN, interrupt=interrupt).reader.read_all()
