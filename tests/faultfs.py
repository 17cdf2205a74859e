"""A FileSystem for crash and I/O-error tests (SQLite's test VFS and Jepsen's lazyfs are the
models).

``FaultyFileSystem`` does every operation on the real files, so the engine reads, lists and
memory-maps them as usual, and on the side keeps a model of what a power cut would leave:

* per file ("inode"), the bytes as of its last ``File.sync()``;
* per directory, the names (and which inode each names) as of its last ``sync_dir()``.

``power_loss()`` rewrites the directory tree to exactly that durable state: bytes written
since the last fsync of a file are dropped; a name created or renamed into a directory that
was never fsynced afterwards disappears (a rename is undone: the old name comes back with
the inode it named when the directory was last synced); a removal that was never made
durable is undone. Created directories are names in their parent like any other, so a
``makedirs`` that no ``sync_dir`` of the parent made durable vanishes with its contents.

Choices where POSIX allows several outcomes (we take the harsher one for the engine):

* ``create()`` over an existing file truncates it, and the truncation is durable at once
  (it is a metadata change); the new bytes are durable only after ``sync()``;
* ``truncate()`` (either form) is durable only after a ``sync()`` of that file: until then
  a power cut brings the cut-off bytes back;
* ``power_loss(torn=rng)`` additionally keeps a random prefix of each file's unsynced
  appended bytes, the torn tail a real disk can leave.

Fault injection counts *mutating* operations: create, append, write, sync, truncate (both
forms), rename, remove, sync_dir. ``fail_at(n)`` makes the n-th one from now raise
``OSError(ENOSPC)`` (or another errno) without touching the disk; ``crash_at(n)`` makes the
n-th one and every later one fail with EIO without touching the disk, as if the machine had
stopped right there: call ``power_loss()`` afterwards.

Real fsyncs are skipped unless ``real_sync=True``: durability is what the model says, and
fsync is most of a test's time on a busy disk.

Files the engine creates behind the FileSystem's back (the LOCK file, which it opens with
``os.open`` to flock it) are not modelled; ``power_loss()`` leaves such files out of the
rebuilt tree and the next open recreates them.
"""

from __future__ import annotations

import errno as errno_mod
import os
import random
import shutil
from dataclasses import dataclass, field

import pyarrow as pa

from engine.fileio import File, FileSystem

MUTATING = ("create", "append", "write", "sync", "truncate", "rename", "remove", "sync_dir")


@dataclass(eq=False)
class Inode:
    data: bytearray = field(default_factory=bytearray)  # what the file holds now
    synced: bytes = b""  # what it held at its last fsync

    def set_len(self, size: int) -> None:
        if size <= len(self.data):
            del self.data[size:]
        else:
            self.data.extend(bytes(size - len(self.data)))


DIR = "dir"  # directory entry marker; files map to their Inode


class FaultyFile(File):
    def __init__(self, fs: FaultyFileSystem, path: str, fd: int, inode: Inode,
                 append: bool) -> None:
        super().__init__(path, fd)
        self._fs = fs
        self._inode = inode
        self._append = append
        self._pos = len(inode.data) if append else 0

    def write(self, data: bytes | memoryview | pa.Buffer) -> int:
        self._fs._op("write", self.path)
        raw = bytes(memoryview(data))
        n = super().write(raw)
        ino = self._inode
        pos = len(ino.data) if self._append else self._pos
        if pos > len(ino.data):
            ino.set_len(pos)
        ino.data[pos:pos + len(raw)] = raw
        self._pos = pos + len(raw)
        return n

    def sync(self) -> None:
        self._fs._op("sync", self.path)
        if self._fs.real_sync:
            super().sync()
        self._inode.synced = bytes(self._inode.data)

    def truncate(self, size: int) -> None:
        self._fs._op("truncate", self.path)
        super().truncate(size)
        self._inode.set_len(size)
        self._pos = size


class FaultyFileSystem(FileSystem):
    """See the module docstring. ``root`` is the directory the model covers: everything
    already in it counts as durable; the engine's paths must lie inside it."""

    background_sync = False  # operations are counted in order: one thread at a time

    def __init__(self, root: str, real_sync: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.real_sync = real_sync  # durability is modelled; real fsyncs only cost time
        os.makedirs(self.root, exist_ok=True)
        self.ops = 0  # mutating operations attempted so far
        self.trace: list[tuple[str, str]] = []  # (operation, path) of each of them
        self.dead = False  # crash_at fired: nothing reaches the disk any more
        self.injected = 0  # faults raised
        self._fail_in: int | None = None
        self._fail_errno = errno_mod.ENOSPC
        self._fail_sticky = False
        self._crash_in: int | None = None
        self._cur: dict[str, dict[str, Inode | str]] = {}
        self._dur: dict[str, dict[str, Inode | str]] = {}
        self._scan(self.root)

    # -- the model ---------------------------------------------------------------------

    def _scan(self, d: str) -> None:
        entries: dict[str, Inode | str] = {}
        for name in os.listdir(d):
            p = os.path.join(d, name)
            if os.path.isdir(p):
                entries[name] = DIR
                self._scan(p)
            else:
                with open(p, "rb") as f:
                    data = f.read()
                entries[name] = Inode(bytearray(data), data)
        self._cur[d] = entries
        self._dur[d] = dict(entries)

    def _split(self, path: str) -> tuple[str, str]:
        p = os.path.abspath(path)
        if p != self.root and not p.startswith(self.root + os.sep):
            raise AssertionError(f"{p} is outside the modelled tree {self.root}")
        return os.path.dirname(p), os.path.basename(p)

    def _entries(self, d: str) -> dict[str, Inode | str]:
        if d not in self._cur:
            raise AssertionError(f"directory {d} not known to the model")
        return self._cur[d]

    def _inode(self, path: str) -> Inode:
        d, name = self._split(path)
        ino = self._entries(d).get(name)
        if not isinstance(ino, Inode):
            raise AssertionError(f"{path}: model has no file there (real file exists: "
                                 f"{os.path.exists(path)})")
        return ino

    def durable_tree(self) -> dict[str, bytes | None]:
        """Relative path → bytes a power cut would leave (None for a directory)."""
        out: dict[str, bytes | None] = {}

        def walk(d: str) -> None:
            for name, e in sorted(self._dur.get(d, {}).items()):
                p = os.path.join(d, name)
                rel = os.path.relpath(p, self.root)
                if e == DIR:
                    out[rel] = None
                    walk(p)
                else:
                    assert isinstance(e, Inode)
                    out[rel] = e.synced

        walk(self.root)
        return out

    def unsynced(self) -> list[str]:
        """Paths whose current state differs from the durable one (for messages)."""
        cur: dict[str, bytes | None] = {}

        def walk(d: str) -> None:
            for name, e in self._cur.get(d, {}).items():
                p = os.path.join(d, name)
                rel = os.path.relpath(p, self.root)
                if e == DIR:
                    cur[rel] = None
                    walk(p)
                else:
                    cur[rel] = bytes(e.data)

        walk(self.root)
        dur = self.durable_tree()
        return sorted(p for p in cur.keys() | dur.keys() if cur.get(p, 0) != dur.get(p, 0))

    # -- faults ------------------------------------------------------------------------

    def fail_at(self, n: int, err: int = errno_mod.ENOSPC, sticky: bool = False) -> None:
        """Make the n-th mutating operation from now (1 = the next) raise OSError(err);
        with ``sticky``, every later one too, until ``disarm()``."""
        assert n >= 1
        self._fail_in, self._fail_errno, self._fail_sticky = n, err, sticky

    def crash_at(self, n: int) -> None:
        """The machine stops at the n-th mutating operation from now: it and all later ones
        raise OSError(EIO) and change nothing. Follow with ``power_loss()``."""
        assert n >= 1
        self._crash_in = n

    def disarm(self) -> None:
        self._fail_in = self._crash_in = None
        self._fail_sticky = False

    @property
    def armed(self) -> bool:
        return self._fail_in is not None or self._crash_in is not None

    def _op(self, kind: str, path: str) -> None:
        self.ops += 1
        self.trace.append((kind, path))
        if self.dead:
            raise OSError(errno_mod.EIO, f"power is off ({kind} {path})")
        if self._crash_in is not None:
            self._crash_in -= 1
            if self._crash_in == 0:
                self._crash_in = None
                self.dead = True
                self.injected += 1
                raise OSError(errno_mod.EIO, f"injected crash at {kind} {path}")
        if self._fail_in is not None:
            self._fail_in -= 1
            if self._fail_in <= 0:
                if not self._fail_sticky:
                    self._fail_in = None
                self.injected += 1
                raise OSError(self._fail_errno,
                              f"injected {errno_mod.errorcode[self._fail_errno]} at {kind}",
                              path)

    # -- mutating operations -------------------------------------------------------------

    def create(self, path: str) -> File:
        self._op("create", path)
        d, name = self._split(path)
        entries = self._entries(d)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        ino = entries.get(name)
        if isinstance(ino, Inode):
            ino.data.clear()
            ino.synced = b""  # O_TRUNC of an existing file: durable at once (harsh choice)
        else:
            ino = Inode()
            entries[name] = ino
        return FaultyFile(self, path, fd, ino, append=False)

    def append(self, path: str) -> File:
        self._op("append", path)
        d, name = self._split(path)
        entries = self._entries(d)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        ino = entries.get(name)
        if not isinstance(ino, Inode):
            ino = Inode()
            entries[name] = ino
        return FaultyFile(self, path, fd, ino, append=True)

    def rename(self, src: str, dst: str) -> None:
        self._op("rename", f"{src} -> {dst}")
        sd, sn = self._split(src)
        dd, dn = self._split(dst)
        os.replace(src, dst)
        self._entries(dd)[dn] = self._entries(sd).pop(sn)

    def remove(self, path: str) -> None:
        self._op("remove", path)
        d, name = self._split(path)
        os.remove(path)
        self._entries(d).pop(name, None)

    def sync_dir(self, path: str) -> None:
        self._op("sync_dir", path)
        if self.real_sync:
            super().sync_dir(path)
        p = os.path.abspath(path)
        self._dur[p] = dict(self._entries(p))

    def truncate(self, path: str, size: int) -> None:
        self._op("truncate", path)
        os.truncate(path, size)
        self._inode(path).set_len(size)

    def makedirs(self, path: str) -> None:
        p = os.path.abspath(path)
        missing = []
        while p not in self._cur:
            missing.append(p)
            p = os.path.dirname(p)
            if p == os.path.dirname(p):
                raise AssertionError(f"{path} is outside the modelled tree {self.root}")
        os.makedirs(path, exist_ok=True)
        for m in reversed(missing):
            self._split(m)
            self._cur[os.path.dirname(m)][os.path.basename(m)] = DIR
            self._cur[m] = {}
            self._dur.setdefault(m, {})

    # write_atomic and write_durable are inherited: they are built from the operations above.

    # -- power loss --------------------------------------------------------------------

    def power_loss(self, torn: random.Random | None = None) -> dict[str, bytes | None]:
        """Rewrite the tree to its durable state and stop the machine (every later mutating
        operation fails with EIO; build a new FaultyFileSystem, or call ``restart()``).

        Files are unlinked and written afresh, never changed in place, so memory maps a dead
        handle still holds stay valid. With ``torn``, each file whose unsynced change is an
        append keeps a random prefix of the appended bytes.
        """
        if torn is not None:
            for entries in self._dur.values():
                for e in entries.values():
                    if isinstance(e, Inode) and len(e.data) > len(e.synced) \
                            and bytes(e.data[:len(e.synced)]) == e.synced \
                            and torn.random() < 0.5:
                        keep = torn.randrange(0, len(e.data) - len(e.synced) + 1)
                        e.synced = bytes(e.data[:len(e.synced) + keep])
        tree = self.durable_tree()
        for name in os.listdir(self.root):
            p = os.path.join(self.root, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.remove(p)
        for rel, data in tree.items():  # parents sort before their children
            p = os.path.join(self.root, rel)
            if data is None:
                os.mkdir(p)
            else:
                with open(p, "wb") as f:
                    f.write(data)
        self.dead = True
        self.disarm()
        # The model restarts from what is now on disk, all of it durable.
        self._cur, self._dur = {}, {}
        self._scan(self.root)
        return tree

    def restart(self) -> None:
        """Power back on after ``power_loss()``: the same tree, operations work again."""
        self.dead = False
        self.disarm()


class _NoSyncFile(File):
    def sync(self) -> None:
        pass


class NoSyncFileSystem(FileSystem):
    """Real files without fsync: for tests of recovery logic that reopen thousands of
    damaged copies and do not care about durability (fsync dominates their time)."""

    def create(self, path: str) -> File:
        return _NoSyncFile(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

    def append(self, path: str) -> File:
        return _NoSyncFile(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))

    def sync_dir(self, path: str) -> None:
        pass
