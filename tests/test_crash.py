"""Crash tests, SQLite style: a child process commits at random and is SIGKILLed at a random
moment, over and over on the same data directory; after every kill the parent reopens the
directory and checks it.

Each commit works on whole groups: it inserts a group of rows sharing a commit id (``cid``)
into the keyless table ``groups`` together with one row describing it in ``commits``; or it
deletes a group (both tables); or bumps a group's ``tag`` (every row of it, both tables). The
child prints ``T <op> <cid>`` before a commit and ``OK <op> <cid>`` (flushed) only after
``commit`` returned. After a kill the parent checks:

* every acknowledged commit is there (and acknowledged deletes are gone);
* a commit in flight at the kill is all or nothing;
* every group is whole: as many rows as ``commits`` says, all with its tag; no stray rows;
* ``db.check()`` finds nothing.

Most kills land while the child commits or checkpoints (one or two committing threads, so
group commit is in play); some while it is still opening the directory, i.e. in recovery.

A kill -9 leaves the OS page cache to write everything, so this finds atomicity and recovery
bugs, not missing fsyncs (test_power_loss.py covers those).
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

import engine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = textwrap.dedent('''
    import os, random, sys, threading
    import pyarrow as pa
    import pyarrow.compute as pc
    import engine
    from engine import col

    path, seed, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    print("OPENING", flush=True)
    db = engine.Database.open(path, checkpoint_rows=rng.choice([500, 5000, 200000]),
                              wal_limit=rng.choice([100000, 1000000, 64 << 20]))
    GROUPS = pa.schema([("cid", pa.int64()), ("i", pa.int64()), ("tag", pa.int64()),
                        ("pad", pa.string())])
    COMMITS = pa.schema([("cid", pa.int64()), ("n", pa.int64()), ("tag", pa.int64())])
    snap = db.snapshot()
    if not snap.has_table("commits"):
        with db.begin() as tx:
            tx.create_table("groups", GROUPS)
            tx.create_table("commits", COMMITS, primary_key=["cid"])
        print("OK init 0", flush=True)
    c = db.snapshot().scan("commits").read_all().to_pydict()
    known = dict(zip(c["cid"], c["tag"]))  # cid -> tag, as committed
    sizes = dict(zip(c["cid"], c["n"]))
    next_cid = [max(known, default=0) + 1]
    busy = set()
    lock = threading.Lock()
    out = threading.Lock()

    def say(line):
        with out:
            sys.stdout.write(line + "\\n")
            sys.stdout.flush()

    def pick():
        with lock:
            free = [c for c in known if c not in busy]
            if free and rng.random() < 0.45:
                x = rng.choice(free)
                busy.add(x)
                return ("delete" if rng.random() < 0.55 else "update"), x
            x = next_cid[0]
            next_cid[0] += 1
            busy.add(x)
            return "insert", x

    def work(r):
        while True:
            if r.random() < 0.04:
                say("T checkpoint 0")
                db.checkpoint(compact=r.random() < 0.3)
                say("OK checkpoint 0")
                continue
            op, x = pick()
            say(f"T {op} {x}")
            if op == "insert":
                n = r.choice([1, 2, 7, 40, 300, 4500]) if r.random() < 0.1 else r.choice([1, 3, 12])
                rows = pa.table({"cid": pa.array([x] * n, pa.int64()),
                                 "i": pa.array(range(n), pa.int64()),
                                 "tag": pa.array([0] * n, pa.int64()),
                                 "pad": pa.array(["p" * (x % 17)] * n)}, schema=GROUPS)
                with db.begin() as tx:
                    tx.insert("groups", rows)
                    tx.insert("commits", pa.table({"cid": [x], "n": [n], "tag": [0]},
                                                  schema=COMMITS))
                with lock:
                    known[x] = 0
                    sizes[x] = n
            elif op == "delete":
                with db.begin() as tx:
                    tx.delete("groups", col("cid") == x)
                    tx.delete("commits", col("cid") == x)
                with lock:
                    del known[x]
            else:
                with db.begin() as tx:
                    tx.update("groups", {"tag": pc.field("tag") + 1}, col("cid") == x)
                    tx.update("commits", {"tag": pc.field("tag") + 1}, col("cid") == x)
                with lock:
                    known[x] += 1
            say(f"OK {op} {x}")
            with lock:
                busy.discard(x)

    say("READY")
    ts = [threading.Thread(target=work, args=(random.Random(seed * 100 + t),), daemon=True)
          for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
''')


class Model:
    """What the parent knows: per cid, the states it may be in (None: absent, else tag)."""

    def __init__(self) -> None:
        self.state: dict[int, int | None] = {}  # settled state of each cid ever seen

    def apply(self, lines: list[str]) -> dict[int, set]:
        """Apply one run's output; returns the allowed states of each cid whose last
        operation was in flight (its other cids must be exactly in ``self.state``)."""
        pending: dict[int, str] = {}
        for line in lines:
            parts = line.split()
            if len(parts) != 3 or parts[1] in ("checkpoint", "init"):
                continue
            kind, op, cid = parts[0], parts[1], int(parts[2])
            if kind == "T":
                assert cid not in pending, f"two operations on cid {cid} at once: {line}"
                pending[cid] = op
            elif kind == "OK":
                assert pending.pop(cid) == op
                self.state[cid] = self._after(op, cid)
        allowed = {}
        for cid, op in pending.items():
            allowed[cid] = {self.state.get(cid), self._after(op, cid)}
        return allowed

    def _after(self, op: str, cid: int) -> int | None:
        if op == "insert":
            assert self.state.get(cid) is None, f"cid {cid} inserted twice"
            return 0
        if op == "delete":
            assert self.state.get(cid) is not None, f"cid {cid} deleted while absent"
            return None
        cur = self.state.get(cid)
        assert cur is not None, f"cid {cid} updated while absent"
        return cur + 1


def observe(path: str) -> tuple[dict[int, int], list[str]]:
    """(cid -> tag of every whole group, problems) of the directory as it reopens."""
    db = engine.Database.open(path)
    try:
        problems = db.check()
        snap = db.snapshot()
        if not snap.has_table("commits"):
            return {}, problems
        c = snap.scan("commits").read_all().to_pydict()
        commits = {cid: (n, tag) for cid, n, tag in zip(c["cid"], c["n"], c["tag"],
                                                        strict=True)}
        g = snap.scan("groups", columns=["cid", "i", "tag"]).read_all().to_pydict()
    finally:
        db.close()
    rows = Counter(zip(g["cid"], g["tag"], strict=True))
    per_cid: dict[int, list] = {}
    for (cid, tag), n in rows.items():
        per_cid.setdefault(cid, []).append((tag, n))
    indexes: dict[int, list[int]] = {}
    for cid, i in zip(g["cid"], g["i"], strict=True):
        indexes.setdefault(cid, []).append(i)
    for cid, (n, tag) in commits.items():
        if per_cid.get(cid) != [(tag, n)]:
            problems.append(f"group {cid} is not whole: commits says {n} rows with tag {tag}, "
                            f"groups has (tag, rows) {per_cid.get(cid)}")
        elif sorted(indexes[cid]) != list(range(n)):
            problems.append(f"group {cid} has the wrong rows")
    for cid in per_cid.keys() - commits.keys():
        problems.append(f"rows of group {cid} without its commits row: {per_cid[cid]}")
    return {cid: tag for cid, (n, tag) in commits.items()}, problems


def run_child(path: str, seed: int, threads: int, rng: random.Random,
              script: str) -> tuple[list[str], float]:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    err_path = script + ".stderr"
    with open(err_path, "wb") as err_file:
        proc = subprocess.Popen([sys.executable, script, path, str(seed), str(threads)],
                                stdout=subprocess.PIPE, stderr=err_file, bufsize=0,
                                env=env, cwd=REPO)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out = b""
    deadline = time.monotonic() + 60
    # Usually kill once the child has opened (and recovered) the database; sometimes while
    # it is still opening it, to crash recovery itself.
    wait_for = b"OPENING\n" if rng.random() < 0.15 else b"READY\n"
    while wait_for not in out:
        chunk = os.read(fd, 65536)
        if not chunk or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            with open(err_path, errors="replace") as f:
                pytest.fail(f"child did not start: {out[-500:]!r} {f.read()[-3000:]}")
        out += chunk
    if wait_for == b"READY\n" and rng.random() < 0.5:
        # On a slow or loaded machine one durable commit can outlast the whole delay below:
        # half the time, let the child acknowledge a commit first, so the runs make progress.
        ready = out.index(b"READY\n")
        while b"\nOK " not in out[ready:] and time.monotonic() < deadline:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk
    delay = (rng.random() * 0.05 if wait_for == b"OPENING\n" else
             rng.choice([0.0, 0.01, 0.05]) + rng.random() * 0.3)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    while chunk := os.read(fd, 65536):  # everything it printed before it died
        out += chunk
    proc.stdout.close()
    proc.wait(timeout=30)
    if proc.returncode != -signal.SIGKILL:
        with open(err_path, errors="replace") as f:
            pytest.fail(f"child exited by itself ({proc.returncode}) before the kill: "
                        f"{f.read()[-3000:]}")
    lines = [ln for ln in out.decode().splitlines() if ln not in ("OPENING", "READY")]
    return lines, delay


def test_sigkill_at_random_points(tmp_path):
    rng = random.Random(4242)
    path = str(tmp_path / "db")
    script = str(tmp_path / "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    model = Model()
    kills = acked = in_flight = 0
    stats: Counter = Counter()
    start = time.monotonic()
    while kills < 55 and time.monotonic() - start < 75:
        seed = rng.randrange(1 << 30)
        threads = rng.choice([1, 1, 2])
        lines, delay = run_child(path, seed, threads, rng, script)
        kills += 1
        acked += sum(1 for ln in lines if ln.startswith("OK "))
        stats["checkpoints"] += sum(1 for ln in lines if ln == "OK checkpoint 0")
        last = lines[-1] if lines else "opening"
        stats["killed while opening"] += last == "opening"
        stats["killed in a checkpoint"] += last == "T checkpoint 0"
        stats["killed in a commit"] += last.startswith("T ") and last != "T checkpoint 0"
        allowed = model.apply(lines)
        in_flight += len(allowed)
        what = (f"kill {kills} (seed {seed}, {threads} threads, after {delay:.3f} s); "
                f"last lines {lines[-4:]}")
        got, problems = observe(path)
        assert problems == [], f"{what}: {problems[:10]}"
        for cid, st in model.state.items():
            if cid in allowed:
                continue
            assert got.get(cid) == st, (
                f"{what}: acknowledged state of group {cid} is "
                f"{'absent' if st is None else f'tag {st}'}, found "
                f"{'absent' if cid not in got else f'tag {got[cid]}'}")
        for cid, options in allowed.items():
            assert got.get(cid) in options, (
                f"{what}: group {cid}, in flight at the kill, is {got.get(cid)}; allowed "
                f"{options}")
            model.state[cid] = got.get(cid)  # the next run continues from what is there
        stray = got.keys() - model.state.keys()
        assert not stray, f"{what}: groups nobody committed: {sorted(stray)[:10]}"
    got, _ = observe(path)
    print(f"{kills} kills, {acked} acknowledged, {in_flight} in flight, {dict(stats)}, "
          f"{len(got)} groups at the end")
    assert kills >= 50, f"only {kills} kills in the time budget"
    assert acked > 5 * kills, f"too little work between kills: {acked} commits"
