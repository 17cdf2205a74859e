"""1,000 seeded hostile requests against a real server (``bench/hostile.py`` generates them;
``python -m bench.hostile --requests 10000`` is the full soak): every one answered, the
server alive, no traceback reaching the client, the data unchanged, no internal error."""

from __future__ import annotations

from bench import hostile


def test_hostile_requests():
    report = hostile.run(1000, seed=20261203)
    assert report.requests == 1000, report.summary()
    assert not report.problems, report.summary()
    assert not report.internal, report.summary()
    kinds = {kind for kind, _ in report.outcomes}
    assert kinds >= {"token_soup", "deep_nesting", "huge_literal", "cartesian", "regex",
                     "malformed", "valid", "keyless_values", "bad_data"}, kinds
    assert report.outcomes[("bad_data", "refused")] > 0, report.summary()
    assert report.outcomes[("valid", "answered")] > 0, report.summary()


def test_hostile_secret_probes():
    """Every path to a secret's value (``hostile.secret_probes``), tried by a user without
    the reveal right against a real server logging JSON at debug level: refused or
    audited, and no value in any answer, error, log line or data file."""
    import uuid

    marker, key_id = f"MK{uuid.uuid4().hex}", f"AKIA{uuid.uuid4().hex[:16].upper()}"
    problems = hostile.secret_run(marker, key_id, f"TY{uuid.uuid4().hex}")
    assert not problems, "\n".join(problems)
