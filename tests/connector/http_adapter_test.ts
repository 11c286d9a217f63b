/** The agent's HTTP ticket adapter against the fake ticket system: pages, sessions, 429/5xx, mapping, refusals. */
import assert from "node:assert/strict";
import { FAKE_USER, startTicketSystemFake } from "../fakes/ticket_system.ts";
import { HttpTicketAdapter, mappingSchema, mapTicket } from "../../lib/connector/http_adapter.ts";
import { TicketAuthError, TicketSystemError } from "../../lib/connector/adapter.ts";

const past = () => new Date(Date.now() - 3600_000).toISOString();

async function withFake(fn: (fake: Awaited<ReturnType<typeof startTicketSystemFake>>) => Promise<void>) {
  const fake = await startTicketSystemFake();
  try {
    await fn(fake);
  } finally {
    await fake.shutdown();
  }
}

function adapter(url: string, waits: number[] = [], extra: Record<string, unknown> = {}) {
  return new HttpTicketAdapter({
    baseUrl: url,
    ...FAKE_USER,
    retryMs: [10, 20],
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...extra,
  });
}

Deno.test("HttpTicketAdapter follows every page of a saved filter and stops at the limit", async () => {
  await withFake(async (fake) => {
    for (let i = 0; i < 250; i++) fake.upsert({ number: `T-${String(i).padStart(3, "0")}`, sla_deadline: past() });
    const a = adapter(fake.url);
    const all = await a.query({ key: "f-arrears", limit: 1000 });
    assert.equal(all.tickets.length, 250);
    assert.equal(all.truncated, false);
    assert.equal(fake.state.pagesServed, 3, "100 per page");
    const some = await a.query({ key: "f-arrears", limit: 120 });
    assert.equal(some.tickets.length, 120);
    assert.equal(some.truncated, true);
    assert.equal(fake.state.logins, 1);
  });
});

Deno.test("HttpTicketAdapter waits Retry-After on 429 and retries 5xx, then gives up naming the status", async () => {
  await withFake(async (fake) => {
    fake.upsert({ number: "T-1", sla_deadline: past() });
    const waits: number[] = [];
    const a = adapter(fake.url, waits);
    await a.login();
    fake.state.faults.failNext = 1;
    fake.state.faults.failNextStatus = 429;
    assert.equal((await a.query({ key: "f-arrears", limit: 10 })).tickets.length, 1);
    assert.deepEqual(waits, [1000]);
    fake.state.faults.failNext = 2;
    fake.state.faults.failNextStatus = 503;
    assert.equal((await a.query({ key: "f-arrears", limit: 10 })).tickets.length, 1);
    assert.deepEqual(waits, [1000, 10, 20]);
    fake.state.faults.failNext = 3;
    await assert.rejects(
      () => a.query({ key: "f-arrears", limit: 10 }),
      (e) => e instanceof TicketSystemError && e.status === 503 && /HTTP 503 after 3 attempts/.test(e.message),
    );
  });
});

Deno.test("HttpTicketAdapter: a wrong password is a TicketAuthError with the one line; an unknown filter names the key", async () => {
  await withFake(async (fake) => {
    const bad = adapter(fake.url, [], { password: "wrong" });
    await assert.rejects(() => bad.query({ key: "f-arrears", limit: 1 }), (e) =>
      e instanceof TicketAuthError &&
      e.message === "ticket system refused the login for agent@ttm.local: check EMAIL and PASSWORD");
    await assert.rejects(
      () => adapter(fake.url).query({ key: "no-such", limit: 1 }),
      (e) => e instanceof TicketSystemError && e.code === "filter_not_found" && /no-such/.test(e.message),
    );
  });
});

Deno.test("mapTicket() maps fields by configurable dotted paths and turns hand-offs into stays", () => {
  const mapping = mappingSchema.parse({ id: "key", title: "fields.summary", department: "fields.team.name" });
  const t = mapTicket({
    key: "OPS-7",
    fields: { summary: "Сервер недоступен", team: { name: "Сеть" } },
    state: "open",
    created_at: "2026-12-01T08:00:00Z",
    sla_deadline: "2026-12-01T10:00:00+03:00",
    transfers: [{ group: "Сеть", at: "2026-12-01T09:00:00Z" }, { group: "Первая линия", at: "2026-12-01T08:00:00Z" }],
  }, mapping);
  assert.equal(t.id, "OPS-7");
  assert.equal(t.title, "Сервер недоступен");
  assert.equal(t.department, "Сеть");
  assert.equal(t.slaDeadline, "2026-12-01T07:00:00.000Z");
  assert.deepEqual(t.history, [
    { department: "Первая линия", from: "2026-12-01T08:00:00.000Z", to: "2026-12-01T09:00:00.000Z" },
    { department: "Сеть", from: "2026-12-01T09:00:00.000Z", to: null },
  ]);
  assert.throws(() => mapTicket({ number: "X" }, mappingSchema.parse({})), /createdAt \(mapped from "created_at"\)/);
});
