"""One interface over the two ways the ``kodiak`` command reaches a database.

* :class:`Remote`: a Kodiak (or any Flight SQL) server at a ``grpc://`` / ``grpc+tls://`` URI,
  through the ADBC Flight SQL driver.
* :class:`Embedded`: a data directory opened in this process with ``engine.Database.open``,
  SQL run by ``kodiak_flight.sql.Session``. Only one process may have a directory open, so this
  fails while a server is serving it.

Both stream: a query's ``Outcome.reader`` yields record batches as they are read, and
``ingest`` consumes a ``RecordBatchReader`` batch by batch.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .sqltext import quote_ident, split_table

if TYPE_CHECKING:  # the SQL layer is imported only by what opens a database in-process
    from .sql.interrupt import Interrupt


class ClientError(Exception):
    """An error to show the user as one line."""


@dataclass
class Outcome:
    """The result of one statement: a stream for queries, a row count for the rest."""

    schema: pa.Schema
    reader: pa.RecordBatchReader | None
    rowcount: int
    _close: Any = None

    @property
    def is_query(self) -> bool:
        return self.reader is not None

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


@dataclass
class Column:
    name: str
    type: pa.DataType
    nullable: bool
    type_name: str


@dataclass
class TableStats:
    name: str
    rows: int | None
    columns: int
    segments: int | None = None
    segment_bytes: int | None = None
    deleted_rows: int | None = None
    buffered_rows: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableStats:
        """From ``admin.database_stats`` / the ``kodiak.info`` answer; unknown keys go to
        ``extra``."""
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(**{k: v for k, v in d.items() if k in known},
                   extra={k: v for k, v in d.items() if k not in known})


def clean_error(exc: BaseException) -> str:
    """One readable line from an ADBC/Flight/engine error."""
    text = str(exc) or type(exc).__name__
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    text = re.sub(r"^[A-Za-z_]+: \[FlightSQL\] ", "", text)
    text = re.sub(r"\s*Detail: Python exception: \w+", "", text)
    text = re.sub(r"\s*Vendor code: \d+\s*$", "", text)
    text = re.sub(r"\.?\s*\(\w+; [\w().]+\)\.?\s*$", "", text)
    text = re.sub(r"\.?\s*Detail: \w+\.?\s*$", "", text)
    text = re.sub(r"^ingest: ", "", text)
    text = re.sub(r"\. gRPC client debug context: .*$", "", text)
    return text.strip()


# -------------------------------------------------------------------------------------------
# Backends


class Backend(ABC):
    """What the CLI and shell need from a database, embedded or behind a server URI."""

    mode = "?"
    description = ""

    @abstractmethod
    def execute(self, sql: str) -> Outcome:
        ...

    @abstractmethod
    def tables(self) -> list[str]:
        ...

    @abstractmethod
    def columns(self, table: str) -> list[Column]:
        ...

    def primary_key(self, table: str) -> list[str]:
        return []

    @abstractmethod
    def table_schema(self, table: str) -> pa.Schema | None:
        """The table's Arrow schema, or None when it does not exist."""
        ...

    @abstractmethod
    def ingest(self, table: str, reader: pa.RecordBatchReader, mode: str) -> int:
        ...

    @abstractmethod
    def stats(self) -> tuple[list[TableStats], dict[str, Any]]:
        ...

    def row_count(self, table: str) -> int | None:
        """The table's row count when known without running a query (for a progress bar)."""
        return None

    def cancel(self) -> None:  # noqa: B027 - a backend that cannot cancel does nothing
        """Stop the statement running now (called from another thread: Ctrl-C)."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections or files; a no-op unless a backend holds some."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NEEDS_PASSWORD = "this server needs a password: pass --user or set KODIAK_PASSWORD"

# What ``tables`` lists: the user's tables and views, not information_schema's system views.
USER_TABLE_TYPES = ("TABLE", "VIEW")


class Embedded(Backend):
    """A data directory opened in this process."""

    mode = "embedded"

    def __init__(self, data_dir: Path | str, *, must_exist: bool = False) -> None:
        import engine

        from .sql import Session

        path = Path(data_dir)
        if must_exist and not path.is_dir():
            raise ClientError(f"no database at {path} (directory does not exist)")
        self.path = path
        self.description = f"data directory {path}"
        try:
            self.db = engine.Database.open(str(path))
        except engine.errors.StorageError as exc:
            if "in use" in str(exc):
                raise ClientError(f"data directory {path} is in use by another process (a "
                                  "server? reach it with --uri grpc://HOST:PORT)") from None
            raise
        self.session = Session(self.db)
        self.running: Interrupt | None = None  # the statement's, while it runs

    def execute(self, sql: str) -> Outcome:
        from .sql.interrupt import Interrupt

        self.running = Interrupt()
        res = self.session.execute(sql, interrupt=self.running)
        return Outcome(res.schema, res.reader, res.rowcount)

    def cancel(self) -> None:
        if self.running is not None:
            self.running.cancel()

    def tables(self) -> list[str]:
        return sorted(_short(r.qualified) for r in self.session.resolver().relations()
                      if r.kind in ("table", "view"))

    def columns(self, table: str) -> list[Column]:
        schema = self.table_schema(table)
        if schema is None:
            raise ClientError(f"table {table!r} does not exist")
        from .sql.types import sql_name

        return [Column(f.name, f.type, f.nullable, sql_name(f.type)) for f in schema]

    def primary_key(self, table: str) -> list[str]:
        rel = self._relation(table)
        return list(rel.table.primary_key) if rel is not None and rel.kind == "table" else []

    def table_schema(self, table: str) -> pa.Schema | None:
        rel = self._relation(table)
        return self.session.relation_schema(rel) if rel is not None else None

    def _relation(self, table: str) -> Any:
        schema, name = split_table(table)
        return self.session.resolver().resolve(name, schema)

    def ingest(self, table: str, reader: pa.RecordBatchReader, mode: str) -> int:
        from .sql.ingest import IngestTarget

        if self.session.in_transaction:
            raise ClientError("finish the open transaction (COMMIT or ROLLBACK) first")
        schema, name = split_table(table)
        return self.session.ingest(IngestTarget.from_mode(name, mode, schema), reader)

    def row_count(self, table: str) -> int:
        rel = self._relation(table)
        return rel.table.row_count if rel is not None and rel.kind == "table" else 0

    def stats(self) -> tuple[list[TableStats], dict[str, Any]]:
        from .admin import database_stats

        tables, summary = database_stats(self.db)
        return [TableStats.from_dict(t) for t in tables], summary

    def close(self) -> None:
        try:
            self.session.close()
        finally:
            self.db.close()


def _short(qualified: str) -> str:
    return qualified[5:] if qualified.startswith("main.") else qualified


class Remote(Backend):
    """A Flight SQL server through ADBC (autocommit on: each statement commits unless the
    session opened a transaction with BEGIN)."""

    mode = "server"

    def __init__(self, uri: str, *, user: str | None = None, password: str | None = None,
                 tls_root_certs: Path | None = None, tls_skip_verify: bool = False,
                 tls_client_cert: Path | None = None, tls_client_key: Path | None = None
                 ) -> None:
        from . import adbc_conn

        if not re.match(r"^grpc(\+tls|\+tcp|\+unix)?://", uri):
            raise ClientError(f"not a Flight SQL URI: {uri!r} (expected grpc://host:port or "
                              "grpc+tls://host:port)")
        self.uri = uri
        self.description = f"server {uri}"
        self._user, self._password = user or "kodiak", password
        self._tls_root_certs, self._tls_skip_verify = tls_root_certs, tls_skip_verify
        self._flight: tuple[Any, Any] | None = None
        self._has_password = password is not None
        kwargs = _login_options(user, password)
        kwargs.update(_tls_options(tls_root_certs, tls_skip_verify))
        self._mtls = _client_certificate(tls_client_cert, tls_client_key)
        kwargs.update(_mtls_options(self._mtls))
        self._connect_kwargs = kwargs
        self.running: Any = None  # the cursor of the statement running, for cancel()
        self._cancelled = False  # a cancel spoils the ADBC connection ("context canceled")
        try:
            self.conn = adbc_conn.connect(uri, kwargs)
        except Exception as exc:
            if "Unauthenticated" in str(exc):
                raise ClientError(self._login_failed(exc)) from None
            raise ClientError(f"cannot connect to {uri}: {clean_error(exc)}") from None

    def _cursor(self) -> Any:
        if self._cancelled:
            self._reconnect()
        return self.conn.cursor()

    def _reconnect(self) -> None:
        """A new connection after a cancel (its session, an open transaction included, is
        gone with the old one)."""
        from . import adbc_conn

        self._cancelled = False
        for old in (self.running, self.conn):
            try:
                old.close()
            except Exception:  # noqa: BLE001 - the old connection may be unusable
                pass
        self.conn = adbc_conn.connect(self.uri, self._connect_kwargs)

    def _unreachable(self, exc: BaseException) -> None:
        text = str(exc)
        hung_up = ("broken pipe", "server preface", "connection reset")  # in the handshake
        if ("(Unavailable;" in text and self.uri.startswith("grpc+tls") and self._mtls is None
                and any(s in text for s in hung_up)):
            raise ClientError(f"cannot reach the server at {self.uri}: {clean_error(exc)} (if "
                              "it requires a client certificate, pass --tls-client-cert and "
                              "--tls-client-key)") from None
        if ("(Unavailable;" in text and "server preface" in text
                and self.uri.startswith("grpc://")):
            tls = "grpc+tls://" + self.uri[len("grpc://"):]
            raise ClientError(f"cannot reach the server at {self.uri}: it does not answer "
                              f"plain gRPC (does it serve TLS? use --uri {tls})") from None
        if "(Unavailable;" in text and ("connection error" in text or "resolver" in text):
            raise ClientError(f"cannot reach the server at {self.uri}: {clean_error(exc)}"
                              ) from None
        if "(Unauthenticated;" in text or "UNAUTHENTICATED" in text:
            raise ClientError(self._login_failed(exc)) from None

    def _login_failed(self, exc: BaseException) -> str:
        """What to tell the user when the server refused the call's credentials."""
        if not self._has_password:
            return NEEDS_PASSWORD
        text = re.sub(r"^Flight returned [\w ]+ error, with message: ", "", clean_error(exc))
        return f"the server at {self.uri} refused the login: {text}"

    def execute(self, sql: str) -> Outcome:
        cur = self.running = self._cursor()
        try:
            try:
                cur.execute(sql)
            except Exception as exc:
                self._unreachable(exc)
                raise
            if cur.description:
                reader = cur.fetch_record_batch()
                return Outcome(reader.schema, reader, -1, cur.close)
            rowcount = cur.rowcount
        except BaseException:
            cur.close()
            raise
        cur.close()
        return Outcome(pa.schema([]), None, rowcount)

    def cancel(self) -> None:
        cur = getattr(self, "running", None)
        if cur is not None:
            self._cancelled = True
            try:
                cur.adbc_cancel()  # the driver cancels the call or stream in progress
            except Exception:  # noqa: BLE001 - nothing running, or already closed
                pass

    def _objects(self) -> list[dict]:
        try:
            reader = self.conn.adbc_get_objects(depth="tables", catalog_filter=None,
                                                table_types_filter=list(USER_TABLE_TYPES))
            return reader.read_all().to_pylist()
        except Exception as exc:
            self._unreachable(exc)
            raise

    def tables(self) -> list[str]:
        out = []
        for cat in self._objects():
            for sch in cat["catalog_db_schemas"] or []:
                for t in sch["db_schema_tables"] or []:
                    name = t["table_name"]
                    schema = sch["db_schema_name"]
                    out.append(name if schema in (None, "", "main") else f"{schema}.{name}")
        return sorted(out)

    def table_schema(self, table: str) -> pa.Schema | None:
        schema, name = split_table(table)
        try:
            return self.conn.adbc_get_table_schema(name, db_schema_filter=schema)
        except Exception as exc:
            if "NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                return None
            self._unreachable(exc)
            raise

    def columns(self, table: str) -> list[Column]:
        schema = self.table_schema(table)
        if schema is None:
            raise ClientError(f"table {table!r} does not exist")
        from .sql.types import sql_name

        out = []
        for f in schema:
            meta = f.metadata or {}
            tname = meta.get(b"ARROW:FLIGHT:SQL:TYPE_NAME", b"").decode() or \
                sql_name(f.type)
            out.append(Column(f.name, f.type, f.nullable, tname))
        return out

    def ingest(self, table: str, reader: pa.RecordBatchReader, mode: str) -> int:
        schema, name = split_table(table)
        cur = self._cursor()
        try:
            return cur.adbc_ingest(name, reader, mode=mode, db_schema_name=schema)
        except Exception as exc:
            self._unreachable(exc)
            raise
        finally:
            cur.close()

    # -- Kodiak's admin actions (plain Flight DoAction: ADBC has no call for them) ---------

    def _flight_client(self) -> tuple[Any, Any]:
        """A ``pyarrow.flight`` client with the same credentials and TLS settings."""
        if self._flight is None:
            import pyarrow.flight as flight

            kwargs: dict[str, Any] = {}
            if self._tls_root_certs is not None:
                kwargs["tls_root_certs"] = Path(self._tls_root_certs).read_bytes()
            if self._tls_skip_verify:
                kwargs["disable_server_verification"] = True
            if self._mtls is not None:
                kwargs["cert_chain"], kwargs["private_key"] = self._mtls
            client = flight.connect(self.uri, **kwargs)
            headers = []
            try:
                if self._password is not None:
                    headers.append(client.authenticate_basic_token(self._user, self._password))
            except Exception as exc:
                client.close()
                self._action_error(exc, "log in")
            self._flight = (client, flight.FlightCallOptions(headers=headers))
        return self._flight

    def action(self, kind: str, body: bytes = b"") -> list[bytes]:
        """Run a Flight action on the server; its results' bodies."""
        import pyarrow.flight as flight

        client, options = self._flight_client()
        try:
            return [r.body.to_pybytes()
                    for r in client.do_action(flight.Action(kind, body), options)]
        except Exception as exc:
            self._action_error(exc, kind)
            raise  # pragma: no cover - _action_error always raises

    def _action_error(self, exc: BaseException, what: str) -> None:
        import pyarrow.flight as flight

        text = clean_error(exc)
        text = re.sub(r"^Flight returned [\w ]+ error, with message: ", "", text).rstrip(".")
        if isinstance(exc, flight.FlightUnavailableError) and (
                "connect" in text or "resolv" in text):
            raise ClientError(f"cannot reach the server at {self.uri}: {text}") from None
        if isinstance(exc, flight.FlightUnauthenticatedError):
            raise ClientError(self._login_failed(exc)) from None
        if isinstance(exc, pa.ArrowNotImplementedError) and "unknown action type" in text:
            raise ClientError(f"the server at {self.uri} does not support {what} (it is not a "
                              "Kodiak server, or an older one)") from None
        raise ClientError(text) from None

    def backup(self, dest: str) -> dict[str, Any]:
        """Online backup by the server into ``dest``, an absolute path on the server's
        machine (new or empty); the server's answer (tables, rows, bytes, lsn, files...)."""
        from .admin import ACTION_BACKUP

        (raw,) = self.action(ACTION_BACKUP, json.dumps({"dest": dest}).encode("utf-8"))
        return json.loads(raw)

    def check(self) -> dict[str, Any]:
        """The server's integrity check of its live database: problems, tables, rows, lsn."""
        from .admin import ACTION_CHECK

        (raw,) = self.action(ACTION_CHECK)
        return json.loads(raw)

    def stats(self) -> tuple[list[TableStats], dict[str, Any]]:
        from .admin import ACTION_INFO

        try:
            (raw,) = self.action(ACTION_INFO)
        except ClientError as exc:
            if "does not support" not in str(exc):
                raise
            return self._sql_stats()
        doc = json.loads(raw)
        tables = [TableStats.from_dict(t) for t in doc.pop("tables")]
        return tables, {"uri": self.uri, **doc}  # data_dir: the server's directory

    def _sql_stats(self) -> tuple[list[TableStats], dict[str, Any]]:
        """Tables, columns and row counts by SQL (a server without ``kodiak.info``)."""
        out = []
        for name in self.tables():
            ncols = len(self.table_schema(name) or [])
            o = self.execute(f"SELECT count(*) AS n FROM {quote_ident(name)}")
            assert o.reader is not None
            rows = o.reader.read_all().column(0)[0].as_py()
            o.close()
            out.append(TableStats(name=name, rows=rows, columns=ncols))
        return out, {"uri": self.uri}

    def close(self) -> None:
        try:
            if self._flight is not None:
                self._flight[0].close()
                self._flight = None
        finally:
            self.conn.close()


def _login_options(user: str | None, password: str | None) -> dict[str, str]:
    """ADBC options to log in; a user without a password is an error."""
    if password is not None:
        return {"username": user or "kodiak", "password": password}
    if user:
        raise ClientError(f"user {user!r} given without a password (set KODIAK_PASSWORD "
                          "or `password` in kodiak.toml)")
    return {}


def _tls_options(root_certs: Path | None, skip_verify: bool) -> dict[str, str]:
    """ADBC options for the server certificates to trust (or not to verify)."""
    out = {}
    if root_certs is not None:
        try:
            out["adbc.flight.sql.client_option.tls_root_certs"] = Path(root_certs).read_text()
        except OSError as exc:
            raise ClientError(f"cannot read {root_certs}: {exc.strerror}") from None
    if skip_verify:
        out["adbc.flight.sql.client_option.tls_skip_verify"] = "true"
    return out


def _mtls_options(mtls: tuple[bytes, bytes] | None) -> dict[str, str]:
    """ADBC options for a client certificate (mutual TLS)."""
    from adbc_driver_flightsql import DatabaseOptions

    if mtls is None:
        return {}
    return {DatabaseOptions.MTLS_CERT_CHAIN.value: mtls[0].decode(),
            DatabaseOptions.MTLS_PRIVATE_KEY.value: mtls[1].decode()}


def _client_certificate(cert: Path | None, key: Path | None) -> tuple[bytes, bytes] | None:
    """(certificate chain PEM, private key PEM) for mutual TLS, or None without them."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ClientError("--tls-client-cert and --tls-client-key go together (a client "
                          "certificate needs its private key)")
    out = []
    for path in (cert, key):
        try:
            out.append(Path(path).read_bytes())
        except OSError as exc:
            raise ClientError(f"cannot read {path}: {exc.strerror}") from None
    return out[0], out[1]

