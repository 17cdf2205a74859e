"""The OS layer: every byte the engine reads or writes goes through one FileSystem object.

Keeping file access behind this small interface lets tests substitute a layer that fails the
Nth operation or forgets everything not fsynced (SQLite's test VFS is the model), and keeps
the durability protocol (write, fsync, rename, fsync directory) in one readable place.
"""

from __future__ import annotations

import mmap
import os
from typing import BinaryIO

import pyarrow as pa


class File:
    """A file opened for writing; thin over an OS descriptor so sync() is a real fsync."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd

    def write(self, data: bytes | memoryview | pa.Buffer) -> int:
        if type(data) is bytes:  # the usual case (WAL frames): one call, no view
            total = os.write(self._fd, data)
            if total == len(data):
                return total
        else:
            total = 0
        view = memoryview(data)
        while total < len(view):
            total += os.write(self._fd, view[total:])
        return total

    def sync(self) -> None:
        # fdatasync flushes the data and whatever metadata reading it back needs (the size
        # of an appended file included), skipping timestamps: SQLite's choice on Linux too.
        os.fdatasync(self._fd)

    def preallocate(self, offset: int, length: int) -> None:
        """Reserve the file's blocks for ``[offset, offset + length)`` (they read as zeros),
        so later writes there overwrite instead of append: an fdatasync after an overwrite
        need not commit a new file size and block allocation every time."""
        os.posix_fallocate(self._fd, offset, length)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.lseek(self._fd, size, os.SEEK_SET)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # pyarrow's IPC writer accepts any object with these when wrapped in pa.PythonFile.
    closed = property(lambda self: self._fd < 0)

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def __enter__(self) -> File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileSystem:
    """Real files. Subclass and override to inject faults."""

    # Whether a file's sync() may run on another thread while this one writes to it (a
    # segment's early fsyncs). A fault-injecting subclass that counts operations says no.
    background_sync = True

    def create(self, path: str) -> File:
        """A new file (truncating any old one) opened for writing."""
        return File(path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

    def append(self, path: str) -> File:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        return File(path, fd)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def open_read(self, path: str) -> BinaryIO:
        return open(path, "rb")

    def memory_map(self, path: str) -> pa.MemoryMappedFile:
        return pa.memory_map(path, "r")

    def map_buffer(self, path: str) -> pa.Buffer:
        """The whole file mapped read-only as one buffer, unmapped when the last buffer
        sliced from it is released.

        Unlike ``memory_map``'s file, reading through this buffer never advises the kernel:
        pyarrow's ``MemoryMappedFile`` advises ``WILLNEED`` over every range it reads, so an
        IPC reader given one walks the page cache over every column of every batch (and
        starts reading those not cached), whatever the caller then touches. Pages not
        cached are then read by the kernel's read-around when first touched.
        """
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return pa.py_buffer(b"")
            return pa.py_buffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def remove(self, path: str) -> None:
        os.remove(path)

    def sync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def truncate(self, path: str, size: int) -> None:
        os.truncate(path, size)

    # -- composite operations: the durability protocol lives here, once --------------------

    def write_atomic(self, path: str, data: bytes) -> None:
        """Replace ``path`` so a crash leaves either the old or the new content, never a mix.

        Temp file in the same directory, fsync it, rename over the target, fsync the directory
        (PostgreSQL's durable_rename): without the last step the rename itself can be lost.
        """
        tmp = path + ".tmp"
        with self.create(tmp) as f:
            f.write(data)
            f.sync()
        self.rename(tmp, path)
        self.sync_dir(os.path.dirname(path) or ".")

    def makedirs_durable(self, path: str) -> None:
        """Create a directory (and missing parents) so that it survives power loss: a new
        directory entry is only on disk once its parent is fsynced."""
        path = os.path.abspath(path)
        missing = []
        p = path
        while not self.exists(p):
            missing.append(p)
            p = os.path.dirname(p)
        self.makedirs(path)
        for m in reversed(missing):
            self.sync_dir(os.path.dirname(m))

    def truncate_durable(self, path: str, size: int) -> None:
        """Cut a file and make the cut durable (through a handle, so it can be fsynced)."""
        with self.append(path) as f:
            f.truncate(size)
            f.sync()

    def write_durable(self, path: str, data: bytes | pa.Buffer) -> None:
        """A new immutable file, its bytes and its directory entry both on disk."""
        with self.create(path) as f:
            f.write(data)
            f.sync()
        self.sync_dir(os.path.dirname(path) or ".")
