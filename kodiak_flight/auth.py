"""Password authentication and bearer tokens for the Flight server.

* The password is kept only as a salted scrypt hash (``scrypt$<n>$<r>$<p>$<salt>$<hash>``,
  base64 fields); :func:`hash_password` makes one, ``kodiak hash-password`` prints one.
* A client authenticates with HTTP Basic credentials (the Flight ``Handshake`` with an
  ``authorization: Basic ...`` header, which is what ADBC and ``pyarrow.flight`` send) and gets an
  ``authorization: Bearer <token>`` response header back. Every later call must carry that token.
* A token is ``k1.<payload>.<signature>``: base64url JSON ``{"u": user, "sid": session,
  "iat": issued, "exp": expiry}`` signed with HMAC-SHA256 under a per-process random key (or
  ``KODIAK_TOKEN_SECRET``), so tokens die with the server unless that secret is set.
  ``sid`` names the client's server-side session and survives token renewal: when a token is
  past half its lifetime the server sends a fresh one in the response headers, which ADBC picks up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow.flight as flight

DEFAULT_USER = "kodiak"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of ``password`` in Kodiak's text format."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(expected))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(got, expected)


@dataclass(frozen=True)
class TokenInfo:
    user: str
    sid: str
    issued: float
    expires: float


class Authenticator:
    """Checks Basic credentials against one user's scrypt hash; issues and checks tokens."""

    def __init__(self, user: str, password_hash: str, *, secret: bytes | None = None,
                 token_ttl: float = 12 * 3600) -> None:
        if not password_hash.startswith("scrypt$"):
            raise ValueError("password_hash must be a scrypt hash from hash_password()")
        self.user = user
        self._hash = password_hash
        self._secret = secret or secrets.token_bytes(32)
        self.token_ttl = token_ttl
        # Successful Basic checks, keyed by an HMAC of the header, so a client that sends
        # Basic credentials on every call does not pay for scrypt every time.
        self._basic_ok: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Authenticator | None:
        """``KODIAK_PASSWORD`` (hashed at once) or ``KODIAK_PASSWORD_HASH``, user
        ``KODIAK_USER`` (default ``kodiak``), optional ``KODIAK_TOKEN_SECRET``; None when no
        password is configured."""
        env = os.environ if env is None else env
        user = env.get("KODIAK_USER") or DEFAULT_USER
        encoded = env.get("KODIAK_PASSWORD_HASH")
        if not encoded:
            password = env.get("KODIAK_PASSWORD")
            if not password:
                return None
            encoded = hash_password(password)
        secret = env.get("KODIAK_TOKEN_SECRET")
        return cls(user, encoded, secret=secret.encode() if secret else None)

    # -- Basic ------------------------------------------------------------------------------

    def check_basic(self, header_value: str) -> str:
        """The user named by a valid ``Basic <base64(user:password)>`` value, else raise
        UNAUTHENTICATED."""
        key = hmac.new(self._secret, header_value.encode("utf-8", "replace"),
                       hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            seen = self._basic_ok.get(key)
            if seen is not None and now - seen < 300:
                return self.user
        try:
            raw = unb64_std(header_value.split(" ", 1)[1].strip())
            user, _, password = raw.decode("utf-8").partition(":")
        except (IndexError, ValueError, UnicodeDecodeError, binascii.Error):
            raise flight.FlightUnauthenticatedError("malformed Basic credentials") from None
        user_ok = hmac.compare_digest(user.encode("utf-8"), self.user.encode("utf-8"))
        password_ok = verify_password(password, self._hash)  # always pay the scrypt cost
        if not (user_ok and password_ok):
            raise flight.FlightUnauthenticatedError("invalid user name or password")
        with self._lock:
            self._basic_ok[key] = now
            while len(self._basic_ok) > 64:
                self._basic_ok.popitem(last=False)
        return self.user

    # -- tokens -----------------------------------------------------------------------------

    def issue_token(self, user: str, sid: str | None = None) -> str:
        now = time.time()
        payload = json.dumps({"u": user, "sid": sid or secrets.token_urlsafe(16),
                              "iat": round(now, 3), "exp": round(now + self.token_ttl, 3)},
                             separators=(",", ":")).encode()
        body = _b64(payload)
        sig = hmac.new(self._secret, f"k1.{body}".encode(), hashlib.sha256).digest()
        return f"k1.{body}.{_b64(sig)}"

    def check_token(self, token: str) -> TokenInfo:
        """The token's claims if its signature is valid and it has not expired; else raise."""
        try:
            version, body, sig = token.split(".")
            if version != "k1":
                raise ValueError
            expected = hmac.new(self._secret, f"k1.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(sig), expected):
                raise flight.FlightUnauthenticatedError("invalid bearer token")
            claims = json.loads(_unb64(body))
            info = TokenInfo(str(claims["u"]), str(claims["sid"]), float(claims["iat"]),
                             float(claims["exp"]))
        except flight.FlightUnauthenticatedError:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise flight.FlightUnauthenticatedError("malformed bearer token") from None
        if info.expires <= time.time():
            raise flight.FlightUnauthenticatedError("bearer token expired; authenticate again")
        return info

    def needs_renewal(self, info: TokenInfo) -> bool:
        return time.time() > info.issued + self.token_ttl / 2


def unb64_std(text: str) -> bytes:
    """Standard base64 with or without padding (ADBC sends it without)."""
    text = text.strip()
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
