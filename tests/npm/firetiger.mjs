// @firetiger-oss/flight-sql-client (@grpc/grpc-js and apache-arrow) against Kodiak.
// Usage: node firetiger.mjs PORT [USER PASSWORD]; prints one JSON report (see lib.mjs).
import { FlightSQLClient } from '@firetiger-oss/flight-sql-client';
import {
  parseArgs, printReport, runSteps, statements, tableToJson,
} from './lib.mjs';

const args = parseArgs(process.argv);
const sql = statements(args.table);
const client = new FlightSQLClient({
  host: '127.0.0.1', port: args.port, plaintext: true,
  username: args.username, password: args.password,
});
const run = async (text) => tableToJson(await client.execute(text));

const report = await runSteps([
  // The client connects (and sends Handshake when given a password) on its first call.
  ['connect', async () => { await client.connect(); return true; }],
  ['create', () => run(sql.create)],
  ['insert', () => run(sql.insert)],
  ['select', () => run(sql.select)],
  ['literals', () => run(sql.literals)],
  ['aggregate', () => run(sql.aggregate)],
  ['missing', () => run(sql.missing)],
  ['schema', async () => {
    const schema = await client.getQuerySchema(sql.select);
    return schema.fields.map((f) => [f.name, String(f.type)]);
  }],
  ['prepared', async () => {
    const prepared = await client.prepare(sql.prepared);
    try {
      return await client.executePrepared(prepared);
    } finally {
      await client.closePrepared(prepared).catch(() => {});
    }
  }],
  ['catalogs', () => client.getCatalogs()],
  ['schemas', () => client.getSchemas()],
  ['tables', () => client.getTables(undefined, undefined, args.table)],
  ['table_types', () => client.getTableTypes()],
  ['primary_keys', () => client.getPrimaryKeys('', '', args.table)],
]);
printReport(report);
await client.close();
