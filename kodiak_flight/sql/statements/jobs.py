"""``AWAIT <job id>`` and ``CANCEL JOB <job id>``: the statements of background jobs
(``pl/jobs.py``).

AWAIT waits for a job to end and answers with its result rows, or raises the job's error;
the wait stops at the session's cancel or query timeout (the job goes on). CANCEL JOB stops a
queued or running job. Both act only on the caller's own user's jobs (any job for a caller
without a user name, as ``KILL QUERY``). The id may be a string literal or a parameter.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import BindError
from ..execution import ExecContext
from ..pl.jobs import jobs_for
from ..result import Result, done, rows
from .common import constant
from .registry import Statement, register


class JobStatement(Statement):
    """A Command whose verb is ``verb``, naming one job."""

    node = exp.Command
    writes = False  # touches no data: it may run inside a transaction too
    verb = ""

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == self.verb

    def job_id(self, ex: ExecContext, node: exp.Expression) -> str:
        arg = node.args.get("expression")
        if not isinstance(arg, exp.Expression):
            raise BindError(f"{self.verb} expects a job id from kodiak_jobs")
        assert ex.bind is not None
        value = constant(ex.bind, arg).value
        if not isinstance(value, str) or not value:
            raise BindError(f"{self.verb} expects a job id from kodiak_jobs (a string), not "
                            f"{arg.sql(dialect='duckdb')}")
        return value


@register
class Await(JobStatement):
    verb = "AWAIT"

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        jobs = jobs_for(ex.session.db)
        return rows(jobs.wait(self.job_id(ex, node), ex.interrupt, ex.session.user))


@register
class CancelJob(JobStatement):
    verb = "CANCEL JOB"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        jobs_for(ex.session.db).cancel(self.job_id(ex, node), ex.session.user)
        return done()
