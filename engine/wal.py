"""Write-ahead log: framed, checksummed commit records, fsynced before a commit is acknowledged.

File layout: ``wal/<first-lsn as 16 hex digits>.log`` starting with the 8-byte magic
``KDKWAL01``, then one frame per commit::

    u32 payload length | u32 crc32 | u64 lsn | u64 durable lsn | payload

The CRC covers the lsn, the durable lsn and the payload. LSNs are consecutive commit numbers.
``durable lsn`` is the highest LSN known to be fsynced when the frame was written; recovery
uses it to tell a torn tail (damage only to records that were never acknowledged) from
corruption of an acknowledged commit, which group commit would otherwise make ambiguous: with
several commits sharing one fsync, a power loss can leave a later frame intact after a damaged
earlier one.

Preallocation: the file is grown ``PREALLOCATE`` bytes at a time with ``fallocate``, so a
commit overwrites reserved zeros instead of appending, and its fdatasync does not have to
journal a new size and block allocation each time (about a quarter of a small commit's sync
on ext4; SQLite gets the same by reusing its WAL). The unused reserve reads as zeros:
recovery takes an all-zero rest of a file as its clean end, provided the next file (if any)
starts at the LSN that follows, and a clean close trims it.

Group commit: committers append under the engine's writer lock, then call ``sync(lsn)`` after
releasing it; the first to arrive fsyncs for everyone appended so far, the rest wait for it.
A failed fsync is fatal for the handle (PostgreSQL's lesson: a retried fsync can "succeed"
after the kernel dropped the dirty pages); reopening recovers from what is really on disk.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import CorruptionError, DatabaseClosed, StorageError
from .fileio import File, FileSystem

log = logging.getLogger("kodiak.wal")

MAGIC = b"KDKWAL01"
HEADER = struct.Struct("<IIQQ")
MAX_PAYLOAD = 2**32 - 1
PREALLOCATE = 4 << 20  # bytes reserved ahead of the log's end at a time


_LSNS = struct.Struct("<QQ")


def file_crc(lsn: int, durable: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(_LSNS.pack(lsn, durable)))


def wal_file_name(first_lsn: int) -> str:
    return f"{first_lsn:016x}.log"


@dataclass
class Recovered:
    records: list[tuple[int, bytes]]
    last_lsn: int
    truncated: list[str]  # warnings about dropped torn tails


class WriteAheadLog:
    def __init__(self, fs: FileSystem, directory: str, next_lsn: int) -> None:
        self.fs = fs
        self.directory = directory
        self._next = next_lsn
        self._written = next_lsn - 1
        self._durable = next_lsn - 1
        # ``with self._lock`` is the C fast path; ``_cond`` shares it for wait/notify
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._syncing = False
        self._waiting = 0  # threads in sync() waiting for another's fsync
        self._failed: BaseException | None = None
        self._file: File | None = None
        self._path = ""
        self.preallocate = PREALLOCATE  # 0 disables (set after a failed fallocate)
        self.on_sync: Callable[[float], None] | None = None  # told each fsync's seconds
        self._open_new(next_lsn)

    # -- writing ------------------------------------------------------------------------

    def _open_new(self, first_lsn: int) -> None:
        self.fs.makedirs_durable(self.directory)
        # A file already named for this LSN can hold no valid record (recovery would have
        # advanced the LSN past it), so starting it afresh loses nothing.
        path = os.path.join(self.directory, wal_file_name(first_lsn))
        f = self.fs.create(path)
        try:
            f.write(MAGIC)
            f.sync()
            self.fs.sync_dir(self.directory)
        except OSError:
            f.close()
            try:  # no half-made log file left behind (recovery would drop it anyway)
                self.fs.remove(path)
            except OSError:
                pass
            raise
        self._file, self._path = f, path
        self.size = len(MAGIC)  # bytes of frames in the current file: its write position
        self._reserved = self.size  # the file's length, preallocated zeros included

    @property
    def path(self) -> str:
        return self._path

    @property
    def last_lsn(self) -> int:
        return self._written

    def append(self, payload: bytes) -> int:
        """Write one commit record; not yet durable. Caller holds the writer lock."""
        if self._failed is not None:
            raise DatabaseClosed(f"write-ahead log failed earlier: {self._failed}")
        if len(payload) > MAX_PAYLOAD:
            raise StorageError("commit record larger than 4 GiB; load it in bulk instead")
        lsn = self._next
        durable = self._durable
        frame = HEADER.pack(len(payload), file_crc(lsn, durable, payload), lsn, durable) + payload
        f = self._file
        assert f is not None
        start = self.size
        end = start + len(frame)
        if end > self._reserved and self.preallocate:
            self._grow(f, end)
        try:
            f.write(frame)
        except OSError as exc:
            try:  # take back the partial frame so the log stays a clean prefix
                f.truncate(start)
                self._reserved = start
            except OSError as exc2:
                self._fail(exc2)
            raise StorageError(f"cannot write the write-ahead log {self._path}: {exc}") from exc
        self._next = lsn + 1
        self.size = end
        self._written = lsn  # one store, atomic: sync() reads it under its lock
        return lsn

    def _grow(self, f: File, end: int) -> None:
        """Reserve zeros past ``end``. Only an optimisation: on failure, append as before."""
        size = max(end, self._reserved) + self.preallocate
        try:
            f.preallocate(self._reserved, size - self._reserved)
        except OSError as exc:
            log.info("not preallocating the write-ahead log %s: %s", self._path, exc)
            self.preallocate = 0
            return
        self._reserved = size

    def sync(self, lsn: int) -> None:
        """Return once ``lsn`` is on disk; concurrent callers share one fsync."""
        with self._lock:
            while True:
                if self._failed is not None:
                    raise DatabaseClosed(f"fsync of the write-ahead log failed: {self._failed}")
                if self._durable >= lsn:
                    return
                if not self._syncing:
                    break
                self._waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self._waiting -= 1
            self._syncing = True
            target = self._written
            f = self._file
        started = time.perf_counter()
        try:
            assert f is not None
            f.sync()
        except OSError as exc:
            with self._lock:
                self._syncing = False
            self._fail(exc)
            raise DatabaseClosed(f"fsync of the write-ahead log failed: {exc}") from exc
        with self._lock:
            self._durable = max(self._durable, target)
            self._syncing = False
            if self._waiting:  # notify_all costs microseconds even with no one to wake
                self._cond.notify_all()
        if self.on_sync is not None:
            self.on_sync(time.perf_counter() - started)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self._failed = exc
            self._cond.notify_all()

    def rotate(self) -> list[str]:
        """Start a new file at the next LSN; return the old files, for removal after the
        manifest that makes them unnecessary is installed."""
        self.sync(self._written)
        old = [os.path.join(self.directory, n) for n in sorted(self.fs.listdir(self.directory))
               if n.endswith(".log")]  # oldest first: a crash mid-removal leaves a suffix
        assert self._file is not None
        self._file.close()
        try:
            self._open_new(self._next)
        except OSError as exc:  # no log to append to: refuse writes until reopened
            self._file = None
            self._fail(exc)
            raise DatabaseClosed(f"cannot start a new write-ahead log file: {exc}") from exc
        return [p for p in old if p != self._path]

    def close(self) -> None:
        if self._file is not None:
            if self._reserved > self.size and self._failed is None:
                try:  # tidy: the next open starts a new file and never reaches the reserve
                    self._file.truncate(self.size)
                except OSError:
                    pass  # harmless: recovery reads an all-zero rest as the file's end
            self._file.close()
            self._file = None

    # -- recovery -----------------------------------------------------------------------

    @staticmethod
    def recover(fs: FileSystem, directory: str, after_lsn: int,
                mode: str = "strict") -> Recovered:
        """Read every valid commit after ``after_lsn``.

        A damaged tail of unacknowledged records is cut off (with a warning). Damage to a
        record that a later frame proves was acknowledged raises CorruptionError naming the
        file and offset; ``mode="point_in_time"`` instead keeps the valid prefix and drops the
        rest, loudly.
        """
        if mode not in ("strict", "point_in_time"):
            raise ValueError(f"unknown recovery mode {mode!r}")
        records: list[tuple[int, bytes]] = []
        warnings: list[str] = []
        if not fs.exists(directory):
            return Recovered(records, after_lsn, warnings)
        names = sorted(n for n in fs.listdir(directory) if n.endswith(".log"))
        # A file whose successor starts at or before the checkpoint holds only checkpointed
        # records: a crash while a checkpoint deleted old files can leave it behind, maybe
        # with a gap after it, and it is not needed.
        firsts = [_first_lsn(directory, n) for n in names]
        keep = [i for i in range(len(names))
                if i + 1 == len(names) or firsts[i + 1] > after_lsn + 1]
        for i in range(len(names)):
            if i not in keep:
                fs.remove(os.path.join(directory, names[i]))
        if len(keep) < len(names):
            fs.sync_dir(directory)
        names = [names[i] for i in keep]
        expected = None
        for i, name in enumerate(names):
            path = os.path.join(directory, name)
            data = fs.read_bytes(path)
            last_file = i == len(names) - 1
            if data[: len(MAGIC)] != MAGIC:
                if last_file and torn_header(data):  # crashed while creating the file
                    warnings.append(f"{path}: torn file header; ignored")
                    fs.remove(path)
                    fs.sync_dir(directory)
                    continue
                raise CorruptionError(f"{path}: not a Kodiak write-ahead log (offset 0)")
            pos = len(MAGIC)
            if expected is None:  # a file is named by the LSN of its first frame
                expected = _first_lsn(directory, name)
            while pos < len(data):
                bad = frame_problem(data, pos)
                if bad is None:
                    length, _, lsn, _ = HEADER.unpack_from(data, pos)
                    if expected is not None and lsn != expected:
                        bad = f"LSN {lsn} where {expected} was expected"
                if bad is not None and zeros_from(data, pos) and (
                        last_file or firsts[keep[i + 1]] == expected):
                    break  # preallocated space the log never reached: the file's clean end
                if bad is not None:
                    proven = _later_frame_proves_durable(data, pos, expected)
                    where = f"{path} at offset {pos}"
                    if (proven or not last_file) and mode == "strict":
                        raise CorruptionError(f"write-ahead log corrupt: {where}: {bad}")
                    msg = (f"dropped {'corrupt' if proven or not last_file else 'torn'} "
                           f"write-ahead log tail: {where}: {bad}")
                    log.warning(msg)
                    warnings.append(msg)
                    fs.truncate_durable(path, pos)
                    for later in names[i + 1:]:
                        fs.remove(os.path.join(directory, later))
                    fs.sync_dir(directory)
                    return Recovered(records, _last(records, after_lsn, expected), warnings)
                payload = data[pos + HEADER.size: pos + HEADER.size + length]
                if lsn > after_lsn:
                    records.append((lsn, payload))
                expected = lsn + 1
                pos += HEADER.size + length
        return Recovered(records, _last(records, after_lsn, expected), warnings)


def torn_header(data: bytes) -> bool:
    """A file cut while its magic was being written: what recovery may drop if newest."""
    return MAGIC.startswith(data) or not any(data[: len(MAGIC)])


def zeros_from(data: bytes, pos: int) -> bool:
    """Whether everything from ``pos`` on is zero: preallocated space no frame reached."""
    return data.count(0, pos) == len(data) - pos


def _first_lsn(directory: str, name: str) -> int:
    try:
        return int(name[:-len(".log")], 16)
    except ValueError:
        raise CorruptionError(
            f"{os.path.join(directory, name)}: not named by an LSN (offset 0)") from None


def _last(records: list[tuple[int, bytes]], after_lsn: int, expected: int | None) -> int:
    if expected is None:
        return after_lsn
    return max(after_lsn, expected - 1)


def frame_problem(data: bytes, pos: int) -> str | None:
    if pos + HEADER.size > len(data):
        return "incomplete frame header"
    length, crc, lsn, durable = HEADER.unpack_from(data, pos)
    if length == 0 and crc == 0 and lsn == 0:
        return "zeroed frame"
    end = pos + HEADER.size + length
    if end > len(data):
        return "frame extends past the end of the file"
    if file_crc(lsn, durable, memoryview(data)[pos + HEADER.size: end]) != crc:
        return "checksum mismatch"
    return None


def _later_frame_proves_durable(data: bytes, pos: int, expected: int | None) -> bool:
    """Whether a valid frame after ``pos`` says a record at or after ``pos`` was fsynced."""
    if expected is None:
        return False
    for lsn in range(expected + 1, expected + 64):
        needle = struct.pack("<Q", lsn)
        at = data.find(needle, pos)
        while at != -1:
            start = at - 8
            if start >= pos and frame_problem(data, start) is None:
                _, _, got, durable = HEADER.unpack_from(data, start)
                if got == lsn:
                    return durable >= expected
            at = data.find(needle, at + 1)
    return False


def iter_frames(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(offset, length, lsn) of each valid frame in a WAL file's bytes; for checks and tests."""
    pos = len(MAGIC)
    while pos < len(data) and frame_problem(data, pos) is None:
        length, _, lsn, _ = HEADER.unpack_from(data, pos)
        yield pos, length, lsn
        pos += HEADER.size + length
