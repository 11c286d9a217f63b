/** SLA analytics on hand-built ticket histories and the hourly trend, with exact expected numbers. */
import assert from "node:assert/strict";
import {
  departmentRanking,
  overdueMs,
  overduePerDepartment,
  overdueTable,
  reasons,
  suspendedTable,
  timePerDepartment,
} from "../../lib/sla/analytics.ts";
import type { Ticket } from "../../lib/sla/ticket.ts";
import { SlaKvStore } from "../../lib/sla/store.ts";

const H = 3600_000;
const T0 = Date.parse("2026-12-01T00:00:00.000Z");
const at = (hours: number) => new Date(T0 + hours * H).toISOString();
const NOW = T0 + 10 * H;

function ticket(id: string, p: Partial<Ticket>): Ticket {
  return {
    id,
    title: `Заявка ${id}`,
    status: "open",
    priority: null,
    department: null,
    assignee: null,
    createdAt: at(0),
    slaDeadline: null,
    suspendedSince: null,
    reason: null,
    history: [],
    ...p,
  };
}

// A: created at 0 in L1, to Network at 2, to Field at 6 (still there); deadline at 4 → 6 h overdue at 10.
const A = ticket("A", {
  slaDeadline: at(4),
  department: "Выезд",
  reason: "Ждём подрядчика",
  history: [
    { department: "Первая линия", from: at(0), to: at(2) },
    { department: "Сеть", from: at(2), to: at(6) },
    { department: "Выезд", from: at(6), to: null },
  ],
});
// B: in Network since 1, back to L1 at 8; deadline at 7 → 3 h overdue.
const B = ticket("B", {
  createdAt: at(1),
  slaDeadline: at(7),
  department: "Первая линия",
  history: [
    { department: "Сеть", from: at(1), to: at(8) },
    { department: "Первая линия", from: at(8), to: null },
  ],
});
// C: deadline in the future — not overdue.
const C = ticket("C", { slaDeadline: at(12), department: "Сеть" });

Deno.test("timePerDepartment() sums each stay, an open stay running to now", () => {
  assert.deepEqual(timePerDepartment(A, NOW), [
    { department: "Первая линия", ms: 2 * H },
    { department: "Сеть", ms: 4 * H },
    { department: "Выезд", ms: 4 * H },
  ]);
  // No history: the current department since creation.
  assert.deepEqual(timePerDepartment(C, NOW), [{ department: "Сеть", ms: 10 * H }]);
});

Deno.test("overdueMs() and overduePerDepartment(): who held the ticket after its deadline", () => {
  assert.equal(overdueMs(A, NOW), 6 * H);
  assert.equal(overdueMs(C, NOW), 0);
  assert.deepEqual(overduePerDepartment(A, NOW), [
    { department: "Сеть", ms: 2 * H },
    { department: "Выезд", ms: 4 * H },
  ]);
  assert.deepEqual(overduePerDepartment(B, NOW), [
    { department: "Сеть", ms: 1 * H },
    { department: "Первая линия", ms: 2 * H },
  ]);
});

Deno.test("departmentRanking() ranks by share of all overdue time", () => {
  // Total overdue 9 h: Выезд 4, Сеть 3, Первая линия 2.
  assert.deepEqual(departmentRanking([A, B, C], NOW), [
    { department: "Выезд", overdueMs: 4 * H, share: 4 / 9, tickets: 1 },
    { department: "Сеть", overdueMs: 3 * H, share: 3 / 9, tickets: 2 },
    { department: "Первая линия", overdueMs: 2 * H, share: 2 / 9, tickets: 1 },
  ]);
});

Deno.test("overdueTable() lists the filter's tickets, most overdue first; reasons() groups the overdue ones", () => {
  const rows = overdueTable([B, C, A], NOW);
  assert.deepEqual(rows.map((r) => [r.id, r.overdueMs]), [["A", 6 * H], ["B", 3 * H], ["C", 0]]);
  assert.deepEqual(reasons([A, B, C], NOW), [
    { reason: "Ждём подрядчика", tickets: 1, overdueMs: 6 * H },
    { reason: null, tickets: 1, overdueMs: 3 * H },
  ]);
});

Deno.test("suspendedTable() says how long each ticket has been suspended, longest first", () => {
  const rows = suspendedTable([
    ticket("S1", { suspendedSince: at(9) }),
    ticket("S2", { suspendedSince: at(3) }),
    ticket("S3", {}),
  ], NOW);
  assert.deepEqual(rows.map((r) => [r.id, r.suspendedMs]), [["S2", 7 * H], ["S1", 1 * H], ["S3", null]]);
});

Deno.test("the trend keeps one point per hour (each filter's last poll of it) and reads back the last days, oldest first", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new SlaKvStore(kv);
    const org = "org_1";
    // Hour 0: two overdue polls (the later one counts) and one suspended poll; hour 30: one of each.
    await store.recordTrend(org, T0 + 10 * 60_000, { arrears: 3, overdueMs: 5 * H });
    await store.recordTrend(org, T0 + 50 * 60_000, { arrears: 2, overdueMs: 4 * H });
    await store.recordTrend(org, T0 + 55 * 60_000, { stopped: 1 });
    await store.recordTrend(org, T0 + 30 * H + 5 * 60_000, { arrears: 4, overdueMs: 9 * H });
    await store.recordTrend(org, T0 + 30 * H + 6 * 60_000, { stopped: 0 });
    await store.recordTrend("org_2", T0, { arrears: 99 });
    const now = T0 + 31 * H;
    assert.deepEqual(await store.trends(org, { days: 2, now }), [
      { hour: at(0), arrears: 2, stopped: 1, overdueMs: 4 * H },
      { hour: at(30), arrears: 4, stopped: 0, overdueMs: 9 * H },
    ]);
    // One day back from hour 31 starts at hour 7: hour 0 is left out.
    assert.deepEqual((await store.trends(org, { days: 1, now })).map((p) => p.hour), [at(30)]);
  } finally {
    kv.close();
  }
});
