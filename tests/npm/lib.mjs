// Shared by the client scripts: the statements every client runs, Arrow tables turned into
// plain JSON (so Python can compare them with what ADBC reads), and one JSON report on stdout.
import { Type, util } from 'apache-arrow';

/** Command line: PORT [USER PASSWORD]; the table name comes from KODIAK_NPM_TABLE. */
export function parseArgs(argv) {
  const [port, username, password] = argv.slice(2);
  return {
    port: Number(port),
    username: username || undefined,
    password: password || undefined,
    table: process.env.KODIAK_NPM_TABLE || 'npm_types',
  };
}

/** The statements each client runs, in order; `t` is the test's table. */
export function statements(t) {
  return {
    create: `CREATE TABLE ${t} (id INTEGER, i BIGINT, d DOUBLE, m DECIMAL(12,2), s VARCHAR, `
      + 'dt DATE, ts TIMESTAMP, b BOOLEAN)',
    insert: `INSERT INTO ${t} VALUES `
      + "(1, 10, 1.5, 12.34, 'a', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.678', true), "
      + '(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL), '
      + "(3, -9007199254740993, -0.25, -99999.99, 'ünï', DATE '1969-12-31', "
      + "TIMESTAMP '1969-12-31 23:59:59', false)",
    select: `SELECT * FROM ${t} ORDER BY id`,
    literals: "SELECT 1 AS one, CAST(2.5 AS DOUBLE) AS x, CAST(3.14 AS DECIMAL(5,2)) AS m, "
      + "'hi' AS s, NULL AS n, DATE '2024-02-29' AS dt, TRUE AS b",
    aggregate: `SELECT count(*) AS n, sum(m) AS total, max(dt) AS latest FROM ${t}`,
    prepared: `SELECT id, s FROM ${t} WHERE id >= 2 ORDER BY id`,
    missing: 'SELECT * FROM no_such_table_npm',
  };
}

/** An unscaled decimal integer as text with `scale` digits after the point: -1234n, 2 -> "-12.34". */
function decimalString(unscaled, scale) {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const sign = unscaled < 0n ? '-' : '';
  if (scale === 0) return sign + digits;
  return `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

function plain(type, value) {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case Type.Int:
      return typeof value === 'bigint' ? value.toString() : value;
    case Type.Decimal:
      return decimalString(util.bigNumToBigInt(value), type.scale);
    case Type.Date:
      return new Date(Number(value)).toISOString().slice(0, 10);
    case Type.Timestamp: // apache-arrow reads every unit as epoch milliseconds
      return new Date(Number(value)).toISOString().replace('Z', '');
    default:
      return typeof value === 'bigint' ? value.toString() : value;
  }
}

/** An Arrow table as {columns: [[name, type]], rows: [[value...]]}. */
export function tableToJson(table) {
  const fields = table.schema.fields;
  const columns = fields.map((f) => table.getChild(f.name));
  const rows = [];
  for (let r = 0; r < table.numRows; r += 1) {
    rows.push(fields.map((f, c) => plain(f.type, columns[c].get(r))));
  }
  return { columns: fields.map((f) => [f.name, String(f.type)]), rows };
}

/** Runs named async steps; each one's result or error lands in the report, whatever the others do. */
export async function runSteps(steps) {
  const report = {};
  for (const [name, step] of steps) {
    try {
      report[name] = { ok: true, result: await step() };
    } catch (err) {
      report[name] = { ok: false, error: String(err && err.message ? err.message : err) };
    }
  }
  return report;
}

export function printReport(report) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
