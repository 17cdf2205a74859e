"""Per-call middleware: authentication and session identification.

Every call passes :class:`CallMiddlewareFactory`, which checks the caller's credentials (when
the server has an :class:`~kodiak_flight.auth.Authenticator`) and reads the session cookie; the
:class:`CallMiddleware` it returns carries who the caller is and the headers to send back.
"""

from __future__ import annotations

from typing import Any

import pyarrow.flight as flight

from ..auth import Authenticator

SESSION_COOKIE = "arrow_flight_session_id"
MIDDLEWARE_KEY = "kodiak"

Headers = dict[str, list[Any]]


class CallMiddleware(flight.ServerMiddleware):
    """Per-call state: who the caller is and which headers to send back."""

    def __init__(self, *, user: str | None = None, token_sid: str | None = None,
                 cookie_sid: str | None = None, new_token: str | None = None) -> None:
        self.user = user
        self.token_sid = token_sid
        self.cookie_sid = cookie_sid
        self.new_token = new_token
        self.set_cookie: str | None = None

    def sending_headers(self) -> dict[str, str]:
        headers = {}
        if self.new_token:
            headers["authorization"] = f"Bearer {self.new_token}"
        if self.set_cookie:
            headers["set-cookie"] = f"{SESSION_COOKIE}={self.set_cookie}"
        return headers

    def call_completed(self, exception: BaseException | None) -> None:
        pass


def call_middleware(context: flight.ServerCallContext) -> CallMiddleware | None:
    """The middleware of the current call (None when the factory made none)."""
    try:
        return context.get_middleware(MIDDLEWARE_KEY)
    except Exception:  # pragma: no cover
        return None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def header(headers: Headers, name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), as text."""
    for key, values in headers.items():
        if key.lower() == name and values:
            return _text(values[0])
    return None


def cookie(headers: Headers, name: str) -> str | None:
    """The value of cookie ``name`` in the call's ``cookie`` headers."""
    for key, values in headers.items():
        if key.lower() != "cookie":
            continue
        for value in values:
            for part in _text(value).split(";"):
                k, _, v = part.strip().partition("=")
                if k == name and v:
                    return v
    return None


class CallMiddlewareFactory(flight.ServerMiddlewareFactory):
    """Authenticates every call when an :class:`Authenticator` is configured.

    * ``Handshake`` (and any other call) may carry ``authorization: Basic ...``: checked against
      the scrypt hash; the response carries ``authorization: Bearer <token>``.
    * Every other call must carry ``authorization: Bearer <token>``; a token past half its
      lifetime is renewed in the response headers.
    """

    def __init__(self, auth: Authenticator | None) -> None:
        super().__init__()
        self.auth = auth

    def start_call(self, info: flight.CallInfo, headers: Headers) -> CallMiddleware | None:
        cookie_sid = cookie(headers, SESSION_COOKIE)
        if self.auth is None:
            return self._anonymous(info, headers, cookie_sid)
        value = header(headers, "authorization") or ""
        scheme = value.split(" ", 1)[0].lower()
        if scheme == "bearer":
            return self._bearer(value, cookie_sid)
        if scheme == "basic":
            return self._basic(value, cookie_sid)
        if info.method == flight.FlightMethod.HANDSHAKE:
            raise flight.FlightUnauthenticatedError(
                "authentication required: send 'authorization: Basic <base64 user:password>'")
        raise flight.FlightUnauthenticatedError(
            "authentication required: call Handshake with Basic credentials, then send the "
            "'authorization: Bearer <token>' header it returns")

    @staticmethod
    def _anonymous(info: flight.CallInfo, headers: Headers,
                   cookie_sid: str | None) -> CallMiddleware | None:
        if info.method == flight.FlightMethod.HANDSHAKE and header(headers, "authorization"):
            raise flight.FlightUnauthenticatedError(
                "this server has no password configured (KODIAK_PASSWORD is unset): connect "
                "without a user name and password")
        if cookie_sid is None:
            # Nothing to carry in: the session is found by the peer address. A middleware
            # instance costs two more Python callbacks per RPC, which under many concurrent
            # clients is GIL time every other call waits for. The unary calls that start a
            # query hand out the session cookie with ``context.add_header`` instead
            # (``KodiakFlightServer.client``; streaming calls send their headers before the
            # handler has found the session).
            return None
        return CallMiddleware(cookie_sid=cookie_sid)

    def _bearer(self, value: str, cookie_sid: str | None) -> CallMiddleware:
        assert self.auth is not None
        claims = self.auth.check_token(value.split(" ", 1)[1].strip() if " " in value else "")
        renewed = (self.auth.issue_token(claims.user, claims.sid)
                   if self.auth.needs_renewal(claims) else None)
        return CallMiddleware(user=claims.user, token_sid=claims.sid, cookie_sid=cookie_sid,
                              new_token=renewed)

    def _basic(self, value: str, cookie_sid: str | None) -> CallMiddleware:
        assert self.auth is not None
        user = self.auth.check_basic(value)
        token = self.auth.issue_token(user)
        claims = self.auth.check_token(token)
        return CallMiddleware(user=user, token_sid=claims.sid, cookie_sid=cookie_sid,
                              new_token=token)


class HandshakeHandler(flight.ServerAuthHandler):
    """Lets Handshake succeed: the real checks happen in :class:`CallMiddlewareFactory`.

    Without any ServerAuthHandler, pyarrow answers Handshake with UNIMPLEMENTED, and ADBC, which
    calls Handshake whenever it is given a user name and password, would fail to connect.
    It answers with one (empty) HandshakeResponse: some clients wait for a reply message
    before they read the bearer token from the response headers. It does not read the
    client's messages first, so a client that sends none and keeps its side open is not
    kept waiting either.
    """

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        outgoing.write(b"")

    def is_valid(self, token: bytes) -> str:
        return ""
