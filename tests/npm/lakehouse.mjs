// @lakehouse-rs/flight-sql-client (Rust's arrow-flight client under napi-rs) against Kodiak.
// Usage: node lakehouse.mjs PORT [USER PASSWORD]; prints one JSON report (see lib.mjs).
import { createFlightSqlClient } from '@lakehouse-rs/flight-sql-client';
import { tableFromIPC } from 'apache-arrow';
import {
  parseArgs, printReport, runSteps, statements, tableToJson,
} from './lib.mjs';

const args = parseArgs(process.argv);
const sql = statements(args.table);
let client;
const run = async (text) => tableToJson(tableFromIPC(await client.query(text)));

const report = await runSteps([
  ['connect', async () => {
    client = await createFlightSqlClient({
      host: '127.0.0.1', port: args.port, tls: false, headers: [],
      username: args.username, password: args.password,
    });
    return true;
  }],
  ['create', () => run(sql.create)],
  ['insert', () => run(sql.insert)],
  ['select', () => run(sql.select)],
  ['literals', () => run(sql.literals)],
  ['aggregate', () => run(sql.aggregate)],
  ['missing', () => run(sql.missing)],
  ['catalogs', async () => tableToJson(tableFromIPC(await client.getCatalogs()))],
  ['schemas', async () => tableToJson(tableFromIPC(await client.getDbSchemas({})))],
  ['tables', async () => {
    const buf = await client.getTables({ tableNameFilterPattern: args.table, includeSchema: true });
    const table = tableFromIPC(buf);
    const out = tableToJson(table.select(['catalog_name', 'db_schema_name', 'table_name', 'table_type']));
    // table_schema holds each table's Arrow schema as IPC bytes: report its columns.
    const schemas = table.getChild('table_schema');
    out.schemas = [];
    for (let r = 0; r < table.numRows; r += 1) {
      const fields = tableFromIPC(schemas.get(r)).schema.fields;
      out.schemas.push(fields.map((f) => [f.name, String(f.type)]));
    }
    return out;
  }],
]);
printReport(report);
