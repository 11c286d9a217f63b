/** The SLA history in real PostgreSQL (random schema): migrations once, snapshots with tickets and hand-offs. */
import assert from "node:assert/strict";
import postgres from "postgres";
import { POSTGRES_URL, serviceOrSkip } from "../helpers/services.ts";
import { PostgresSlaSink } from "../../lib/sla/postgres_sink.ts";
import { SlaService } from "../../lib/sla/service.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { Ticket } from "../../lib/sla/ticket.ts";
import { startTestHub } from "../helpers/hub.ts";

const available = await serviceOrSkip("PostgreSQL", async () => {
  const sql = postgres(POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
  } finally {
    await sql.end();
  }
});

const ticket: Ticket = {
  id: "T-1",
  title: "Нет связи",
  status: "open",
  priority: "high",
  department: "Сеть",
  assignee: "Иванов",
  createdAt: "2026-12-01T08:00:00.000Z",
  slaDeadline: "2026-12-01T10:00:00.000Z",
  suspendedSince: null,
  reason: null,
  history: [
    { department: "Первая линия", from: "2026-12-01T08:00:00.000Z", to: "2026-12-01T09:00:00.000Z" },
    { department: "Сеть", from: "2026-12-01T09:00:00.000Z", to: null },
  ],
};

Deno.test({
  name: "PostgresSlaSink: migrations run once; a snapshot lands with its tickets and hand-offs, a repeat is a no-op",
  ignore: !available,
  async fn() {
    const schema = `sla_t_${crypto.randomUUID().slice(0, 8)}`;
    const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    const kv = await Deno.openKv(":memory:");
    try {
      const sink = await PostgresSlaSink.open({ url: POSTGRES_URL, schema });
      await sink.close();
      const again = await PostgresSlaSink.open({ url: POSTGRES_URL, schema });
      const svc = new SlaService({
        kv,
        log: memoryLogger(),
        now: () => Date.parse("2026-12-01T12:00:00Z"),
        events: { publish: () => Promise.resolve(null) },
        sink: again,
      });
      const meta = await svc.ingest("org1", "arrears", [ticket], { connectorId: "con_1", jobId: "5-arrears-0" });
      await again.write("org1", "arrears", meta, [ticket]); // the same snapshot again
      const migrations = await admin.unsafe(`select version from ${schema}.sla_migrations`);
      assert.deepEqual(migrations.map((r) => r.version), [1]);
      const snaps = await admin.unsafe(
        `select org, filter, snap_id, ticket_count, connector_id from ${schema}.sla_snapshots`,
      );
      assert.deepEqual([...snaps], [{
        org: "org1",
        filter: "arrears",
        snap_id: "5-arrears-0",
        ticket_count: 1,
        connector_id: "con_1",
      }]);
      const tickets = await admin.unsafe(`select ticket_id, department, sla_deadline from ${schema}.sla_tickets`);
      assert.equal(tickets.length, 1);
      assert.equal(tickets[0].department, "Сеть");
      assert.equal((tickets[0].sla_deadline as Date).toISOString(), ticket.slaDeadline);
      const handoffs = await admin.unsafe(`select department, to_at from ${schema}.sla_handoffs order by seq`);
      assert.deepEqual(handoffs.map((h) => [h.department, h.to_at === null]), [["Первая линия", false], [
        "Сеть",
        true,
      ]]);
      await svc.close();
    } finally {
      kv.close();
      await admin.unsafe(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
  },
});

Deno.test({
  name: "with DATABASE_URL the hub writes SLA snapshots to Postgres",
  ignore: !available,
  async fn() {
    const schema = `sla_h_${crypto.randomUUID().slice(0, 8)}`;
    const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
    const t = await startTestHub({ env: { DATABASE_URL: POSTGRES_URL, ENRICH_PG_SCHEMA: schema } });
    try {
      const svc = t.hub.connectors;
      assert.equal(svc.sla.sinkName, "postgres");
      await svc.sla.ingest(t.org, "stopped", [{ ...ticket, suspendedSince: "2026-12-01T11:00:00.000Z" }], {
        jobId: "j1",
      });
      const rows = await admin.unsafe(
        `select t.ticket_id, t.suspended_since from ${schema}.sla_tickets t join ${schema}.sla_snapshots s on s.id = t.snapshot_id where s.org = $1`,
        [t.org],
      );
      assert.equal(rows.length, 1);
    } finally {
      await t.close();
      await admin.unsafe(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
  },
});
