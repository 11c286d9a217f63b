/**
 * The Connectors & SLA part of `deno task demo`: a fake ticket system with
 * tickets in four departments, a connector created through the API and a real
 * agent (the same code as `deno task connector`) running against the fake, a
 * 15-second poll interval, and tickets that keep changing — some cross their
 * SLA while you watch, others move between departments, get suspended or
 * closed.
 */
// deno-lint-ignore-file no-console
import { startTicketSystemFake, type TicketSystemFake } from "./ticket_system.ts";
import { Agent } from "../../lib/connector/agent.ts";
import { HttpTicketAdapter } from "../../lib/connector/http_adapter.ts";
import { FAKE_USER } from "./ticket_system.ts";

const DEPARTMENTS = ["Первая линия", "Сеть", "Выезд", "Биллинг"];
const SUBJECTS = [
  "Нет связи в цехе №3",
  "Не печатает принтер в бухгалтерии",
  "Доступ к 1С для нового сотрудника",
  "Медленный интернет на складе",
  "Счёт выставлен дважды",
  "Замена картриджа",
  "Не работает VPN у менеджера",
  "Сбой кассы в магазине на Ленина",
];
const REASONS = ["Ждём подрядчика", "Нет запчастей", "Ждём ответа клиента", null];
const MIN = 60_000;

function seedTickets(fake: TicketSystemFake) {
  const now = fake.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  for (let i = 1; i <= 12; i++) {
    const created = now - (i * 37 + 20) * MIN;
    // Deadlines spread from two hours ago to a few minutes ahead: several cross during the demo.
    const deadline = now + (i % 4 === 0 ? (i / 4) * 2 * MIN : -(i * 11) * MIN);
    fake.upsert({
      number: `TT-${1000 + i}`,
      subject: SUBJECTS[i % SUBJECTS.length],
      group: DEPARTMENTS[0],
      created_at: iso(created),
      sla_deadline: iso(deadline),
      executor: { name: ["Иванов", "Петрова", "Сидоров"][i % 3] },
      delay_reason: REASONS[i % REASONS.length],
      transfers: [{ group: DEPARTMENTS[0], at: iso(created) }],
    });
    if (i % 2 === 0) {
      fake.tickets.get(`TT-${1000 + i}`)!.transfers.push({
        group: DEPARTMENTS[1 + (i % 3)],
        at: iso(created + 25 * MIN),
      });
      fake.tickets.get(`TT-${1000 + i}`)!.group = DEPARTMENTS[1 + (i % 3)];
    }
  }
  fake.pause("TT-1003", "Ждём запчасть");
  fake.pause("TT-1007", "Ждём ответа клиента");
}

/** Every 20 s: one hand-off, sometimes a suspension, a resumption, a closed ticket and a new one due in 40 s. */
function churn(fake: TicketSystemFake, signal: AbortSignal) {
  let next = 1013;
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const open = [...fake.tickets.values()].filter((t) => t.state !== "closed");
    const pick = open[Math.floor(Math.random() * open.length)];
    if (pick && pick.state !== "paused") fake.transfer(pick.number, DEPARTMENTS[tick % DEPARTMENTS.length]);
    if (tick % 3 === 0 && open.length > 6) fake.close(open[0].number);
    if (tick % 4 === 0) {
      const paused = open.find((t) => t.state === "paused");
      if (paused) fake.resume(paused.number);
      else if (pick) fake.pause(pick.number, "Ждём ответа клиента");
    }
    const now = fake.now();
    fake.upsert({
      number: `TT-${next++}`,
      subject: SUBJECTS[next % SUBJECTS.length],
      created_at: new Date(now).toISOString(),
      sla_deadline: new Date(now + 40_000).toISOString(),
      delay_reason: REASONS[next % REASONS.length],
    });
  }, 20_000);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}

/** Starts the fake ticket system and an agent for the demo hub at `base`; `call` is the demo's API helper. */
export async function startSlaDemo(
  base: string,
  call: (base: string, path: string, body?: unknown, method?: string) => Promise<string>,
): Promise<{ stop(): Promise<void> }> {
  const fake = await startTicketSystemFake();
  seedTickets(fake);
  const created = JSON.parse(await call(base, "/api/v1/connectors", { name: "Демо: офис в Екатеринбурге" }));
  const env = created.env as Record<string, string>;
  const agent = new Agent({
    server: env.SERVER,
    connectorId: env.CONNECTOR_ID,
    token: env.TOKEN,
    key: env.KEY,
    adapter: new HttpTicketAdapter({ baseUrl: fake.url, email: FAKE_USER.email, password: FAKE_USER.password }),
    print: (line) => console.log(`demo connector: ${line}`),
  });
  agent.start();
  await agent.waitFor((a) => a.state === "online");
  // A 15-second interval so the dashboard moves; setting it starts the first poll at once.
  await call(
    base,
    "/api/v1/sla/settings",
    { intervalSec: 15, filterArrears: "f-arrears", filterStopped: "f-stopped" },
    "PUT",
  );
  const stopChurn = new AbortController();
  churn(fake, stopChurn.signal);
  console.log(`demo ticket system: ${fake.url} (login ${FAKE_USER.email} / ${FAKE_USER.password})`);
  console.log(
    `to run your own agent against it: create a connector on /admin/connectors, then\n` +
      `  CONNECTOR_ID=… TOKEN=… KEY=… SERVER=${env.SERVER} URL=${fake.url} EMAIL=${FAKE_USER.email} ` +
      `PASSWORD=${FAKE_USER.password} FILTER_ARREARS=f-arrears FILTER_STOPPED=f-stopped deno task connector`,
  );
  return {
    async stop() {
      stopChurn.abort();
      await agent.stop();
      await fake.shutdown();
    },
  };
}
