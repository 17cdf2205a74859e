"""CREATE [UNIQUE] INDEX and DROP INDEX: secondary B+ tree indexes of the engine."""

from __future__ import annotations

from sqlglot import exp

from ..errors import BindError, NotSupportedError, suggest
from ..execution import ExecContext
from ..result import Result, done
from ..types import check_key
from .common import existing_table
from .registry import Statement, register
from .reindex import indexes_named


@register
class CreateIndex(Statement):
    node = exp.Create
    kind = "INDEX"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        idx = node.this
        _check_parameters(idx.args["params"])
        info = existing_table(ex.bind, idx.args["table"], "create")
        cols = [o.this.name if isinstance(o, exp.Ordered) else o.name
                for o in idx.args["params"].args.get("columns") or []]
        for c in cols:
            if c not in info.schema.names:
                raise BindError(f"column {c!r} not found in {info.name}"
                                + suggest(c, info.schema.names))
            check_key(info.schema.field(c).type, f"an index on {c!r}", order=True)
        ex.tx.create_index(idx.name, info.name, cols, unique=bool(node.args.get("unique")),
                           if_not_exists=bool(node.args.get("exists")))
        return done()


# what an index's definition may say beyond its columns: its method, B+ tree under any of
# the names other databases give theirs
_METHODS = {"btree", "art"}
_READ = {"columns", "using"}
_WORDS = {"where": "a partial index (WHERE)", "include": "INCLUDE columns",
          "with_storage": "storage options (WITH)", "tablespace": "a tablespace",
          "partition_by": "PARTITION BY", "on": "ON"}


def _check_parameters(params: exp.Expression) -> None:
    """Refuse what CREATE INDEX would otherwise ignore: another method (hash, gin), a
    partial index's WHERE, INCLUDE columns, storage options."""
    using = params.args.get("using")
    if using is not None and using.name.lower() not in _METHODS:
        raise NotSupportedError(f"index method {using.name} is not supported (Kodiak's "
                                "indexes are B+ trees: USING btree)")
    for key, value in params.args.items():
        if value and key not in _READ:
            raise NotSupportedError(f"CREATE INDEX with {_WORDS.get(key, key.upper())} is "
                                    "not supported")


@register
class DropIndex(Statement):
    node = exp.Drop
    kind = "INDEX"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        for t in node.args.get("tables") or [node.this]:
            for table, _ in indexes_named(ex.snap, t.name.lower()):
                ex.bind.check_table("create", table)
            ex.tx.drop_index(t.name, if_exists=bool(node.args.get("exists")))
        return done()
