/** Row cursors the PostgreSQL sink cannot compare (beyond bigint) must not become a database error. */
import assert from "node:assert/strict";
import postgres from "postgres";
import { POSTGRES_URL, serviceOrSkip } from "../helpers/services.ts";
import { PostgresSink } from "../../lib/enrichment/sinks/postgres_sink.ts";

const available = await serviceOrSkip("PostgreSQL", async () => {
  const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
  } finally {
    await sql.end();
  }
});

Deno.test({
  name: "PostgresSink.list() reads from the newest row when the cursor is out of bigint range",
  ignore: !available,
  async fn() {
    const schema = `robust_${crypto.randomUUID().slice(0, 8)}`;
    const sink = await PostgresSink.open({ url: POSTGRES_URL, schema, max: 1 });
    const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    try {
      for (const cursor of ["99999999999999999999", "9223372036854775808", "0", "garbage"]) {
        const page = await sink.list("org", { cursor });
        assert.deepEqual(page.items, [], cursor);
      }
    } finally {
      await sink.close();
      await admin.unsafe(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
  },
});
