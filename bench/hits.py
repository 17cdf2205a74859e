"""A synthetic ``hits`` table in the shape of ClickBench's web-analytics data.

ClickBench's own table is 100 M rows of Yandex Metrica hits (a 14 GB download); its 43
queries are what outside measurements of analytics databases run most. This generates the
columns those queries read, with the distributions that make them interesting: most search
phrases, referers and phone models empty, a few counters and users holding most rows, URLs
and titles drawn from pools with repeats, hashes consistent with the strings they hash, and
rows stored in the order ClickBench's table is kept (CounterID, EventDate, UserID,
EventTime, WatchID). Strings are plain ``string``, integers the widths ClickBench declares
(SMALLINT as int16 ...). Deterministic for a given row count.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Constants the queries look for; each is given to some rows.
COUNTER = 62
USER = 435090932899640449
REFERER_HASH = 3594120000172545465
URL_HASH = 2868770270353813622

_WORDS = ("news sport video google shop cart film movie games weather music travel auto "
          "market bank mail maps photo radio book health food kids home garden job price "
          "city hotel ticket phone laptop tv football hockey tennis chess recipe cinema "
          "yandex search forum blog wiki error download free online best new").split()
_DOMAINS = ("example.com www.google.com news.yandex.ru mail.ru auto.ru market.ru "
            "video.example.org www.shop.net blog.site.io forum.games.ru m.vk.com "
            "www.movie-db.com travel.info bank.ru").split()
_MODELS = ("iPhone iPad Galaxy Lumia Nexus Xperia Desire Optimus Redmi Pixel").split()


def hits(n: int, seed: int = 20130701) -> pa.Table:
    """``n`` rows of hits, sorted as ClickBench stores them."""
    rng = np.random.default_rng(seed)
    users = _zipf_ids(rng, n, max(n // 8, 10), np.int64, 1 << 62)
    users[rng.random(n) < 0.0005] = USER
    counters = _zipf_ids(rng, n, max(n // 200, 20), np.int32, 100_000)
    counters[rng.random(n) < 0.05] = COUNTER
    seconds = rng.integers(0, 31 * 86_400, n)
    url_pool = _urls(rng, max(n // 5, 50))
    url_i = _zipf_index(rng, n, len(url_pool))
    url_hashes = rng.integers(1, 1 << 62, len(url_pool))
    url_hashes[0] = URL_HASH
    ref_i = np.where(rng.random(n) < 0.4, -1, _zipf_index(rng, n, len(url_pool)))
    ref_hashes = np.where(ref_i < 0, 0, url_hashes[np.maximum(ref_i, 0)])
    ref_hashes[rng.random(n) < 0.01] = REFERER_HASH
    cols = {
        "WatchID": rng.integers(1, 1 << 62, n, dtype=np.int64),
        "JavaEnable": _ints(rng, n, 0, 2, np.int16),
        "Title": _titles(rng, n),
        "GoodEvent": np.ones(n, np.int16),
        "EventTime": pa.array((np.datetime64("2013-07-01") + seconds.astype("m8[s]"))
                              .astype("M8[us]")),
        "EventDate": pa.array((np.datetime64("2013-07-01") + (seconds // 86_400)
                               .astype("m8[D]")).astype("M8[D]")),
        "CounterID": counters,
        "ClientIP": rng.integers(-(1 << 31), (1 << 31) - 1, n, dtype=np.int32),
        "RegionID": _zipf_ids(rng, n, 5_000, np.int32, 20_000),
        "UserID": users,
        "CounterClass": _ints(rng, n, 0, 5, np.int16),
        "OS": _ints(rng, n, 0, 90, np.int16),
        "UserAgent": _ints(rng, n, 0, 100, np.int16),
        "URL": _pick(url_pool, url_i),
        "Referer": _pick(["", *url_pool], ref_i + 1),
        "IsRefresh": (rng.random(n) < 0.1).astype(np.int16),
        "RefererCategoryID": _sparse(rng, n, 0.3, 1, 500, np.int16),
        "RefererRegionID": _sparse(rng, n, 0.5, 1, 5_000, np.int32),
        "URLCategoryID": _sparse(rng, n, 0.5, 1, 500, np.int16),
        "URLRegionID": _sparse(rng, n, 0.5, 1, 5_000, np.int32),
        "ResolutionWidth": rng.choice(np.array([0, 1024, 1280, 1366, 1440, 1600, 1920, 2560],
                                               np.int16), n),
        "ResolutionHeight": rng.choice(np.array([0, 600, 768, 900, 1024, 1080, 1440],
                                                np.int16), n),
        "ResolutionDepth": rng.choice(np.array([16, 24, 32], np.int16), n),
        "FlashMajor": _sparse(rng, n, 0.6, 1, 12, np.int16),
        "FlashMinor": _ints(rng, n, 0, 10, np.int16),
        "MobilePhone": _sparse(rng, n, 0.1, 1, 50, np.int16),
        "MobilePhoneModel": _sparse_strings(rng, n, 0.1, _MODELS, 20),
        "TraficSourceID": _ints(rng, n, -1, 10, np.int16),
        "SearchEngineID": _sparse(rng, n, 0.2, 1, 50, np.int16),
        "SearchPhrase": _sparse_strings(rng, n, 0.15, _WORDS, max(n // 50, 50)),
        "AdvEngineID": _sparse(rng, n, 0.03, 1, 30, np.int16),
        "WindowClientWidth": _sparse(rng, n, 0.9, 1, 2_000, np.int16),
        "WindowClientHeight": _sparse(rng, n, 0.9, 1, 1_200, np.int16),
        "IsLink": (rng.random(n) < 0.05).astype(np.int16),
        "IsDownload": (rng.random(n) < 0.01).astype(np.int16),
        "DontCountHits": (rng.random(n) < 0.1).astype(np.int16),
        "URLHash": url_hashes[url_i],
        "RefererHash": ref_hashes,
    }
    t = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in cols.items()})
    order = pc.sort_indices(t, [(c, "ascending") for c in
                                ("CounterID", "EventDate", "UserID", "EventTime", "WatchID")])
    return t.take(order)


def _zipf_index(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Indexes into a pool of ``size``, a few drawn often and most rarely."""
    return (rng.zipf(1.3, n) - 1) % size


def _zipf_ids(rng: np.random.Generator, n: int, distinct: int, dtype: type,
              top: int) -> np.ndarray:
    ids = rng.integers(1, top, distinct).astype(dtype)
    return ids[_zipf_index(rng, n, distinct)]


def _ints(rng: np.random.Generator, n: int, lo: int, hi: int, dtype: type) -> np.ndarray:
    return rng.integers(lo, hi, n).astype(dtype)


def _sparse(rng: np.random.Generator, n: int, share: float, lo: int, hi: int,
            dtype: type) -> np.ndarray:
    """Mostly 0; ``share`` of the rows a value in [lo, hi)."""
    return np.where(rng.random(n) < share, rng.integers(lo, hi, n), 0).astype(dtype)


def _phrases(rng: np.random.Generator, words: tuple[str, ...] | list[str], size: int,
             most: int) -> list[str]:
    counts = rng.integers(1, most + 1, size)
    picks = rng.integers(0, len(words), (size, most))
    return [" ".join(words[j] for j in picks[i, :counts[i]]) + f" {i}" for i in range(size)]


def _sparse_strings(rng: np.random.Generator, n: int, share: float,
                    words: list[str], size: int) -> pa.Array:
    """Mostly ''; ``share`` of the rows a phrase from a pool of ``size``."""
    pool = _phrases(rng, words, size, 3)
    index = np.where(rng.random(n) < share, _zipf_index(rng, n, size) + 1, 0)
    return _pick(["", *pool], index)


def _urls(rng: np.random.Generator, size: int) -> list[str]:
    scheme = rng.choice(np.array(["http://", "https://"]), size)
    domain = rng.integers(0, len(_DOMAINS), size)
    paths = _phrases(rng, _WORDS, size, 4)
    return [f"{scheme[i]}{_DOMAINS[domain[i]]}/{paths[i].replace(' ', '/')}.html"
            f"?id={i}" for i in range(size)]


def _titles(rng: np.random.Generator, n: int) -> pa.Array:
    words = [w.capitalize() if w == "google" else w for w in _WORDS]
    return _sparse_strings(rng, n, 0.9, words, max(n // 20, 50))


def _pick(pool: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(pool, pa.string()).take(pa.array(index))
