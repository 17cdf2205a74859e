"""``kodiak serve`` fixes glibc's mmap and trim thresholds (``cli/allocator.py``), unless
KODIAK_MALLOC_TUNING is off; elsewhere it leaves the allocator alone."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import pytest

from kodiak_flight.cli import allocator


def _glibc() -> bool:
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _glibc(), reason="mallopt's thresholds are glibc's")
def test_the_thresholds_are_set(monkeypatch) -> None:
    calls = []
    real = ctypes.CDLL(ctypes.util.find_library("c"))

    class Libc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return real.mallopt(param, value)

    monkeypatch.delenv("KODIAK_MALLOC_TUNING", raising=False)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: Libc())
    assert allocator.tune()
    assert calls == [(allocator.M_MMAP_THRESHOLD, 64 << 20),
                     (allocator.M_TRIM_THRESHOLD, 256 << 20)]


@pytest.mark.parametrize("value", ["off", "0", "false"])
def test_off_leaves_the_allocator_alone(monkeypatch, value: str) -> None:
    monkeypatch.setenv("KODIAK_MALLOC_TUNING", value)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: pytest.fail("libc opened"))
    assert not allocator.tune()


def test_a_c_library_without_mallopt_is_left_alone(monkeypatch) -> None:
    class NoMallopt:
        pass

    monkeypatch.delenv("KODIAK_MALLOC_TUNING", raising=False)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: NoMallopt())
    assert not allocator.tune()
