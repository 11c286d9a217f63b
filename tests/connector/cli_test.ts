/**
 * The agent as operators run it: `deno bundle` into one file, then `deno run`
 * of that file alone with the old env names — it comes online, answers a
 * poll, and exits 0 on SIGTERM; a bad environment is one line per variable.
 * The test waits on the hub's events (online, snapshot) or the child's exit,
 * never on a time limit: on a loaded machine the child just takes longer.
 */
import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { FAKE_USER, startTicketSystemFake } from "../fakes/ticket_system.ts";
import { createConnector, listenEvents } from "./_helpers.ts";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("the bundled agent runs alone with deno run, comes online, answers a poll and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const bundle = `${dir}/connector.js`;
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--minify", "-o", bundle, "lib/connector/agent_main.ts"],
    cwd: root,
  }).output();
  assert.ok(built.success, new TextDecoder().decode(built.stderr));
  const fake = await startTicketSystemFake();
  const t = await startTestHub();
  const creds = await createConnector(t);
  fake.upsert({ number: "T-1", sla_deadline: new Date(Date.now() - 3600_000).toISOString() });
  const events = await listenEvents(t, ["connector.online", "sla.snapshot"]);
  // Run from an empty folder: nothing but the one file.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", bundle],
    cwd: dir,
    clearEnv: true,
    env: {
      CONNECTOR_ID: creds.connectorId,
      TOKEN: creds.token,
      KEY: creds.key,
      SERVER: t.url,
      URL: fake.url,
      EMAIL: FAKE_USER.email,
      PASSWORD: FAKE_USER.password,
      FILTER_ARREARS: "f-arrears",
      FILTER_STOPPED: "f-stopped",
      INTERVAL: "60",
      NO_COLOR: "1",
      DENO_DIR: `${dir}/cache`,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new Response(child.stdout).text();
  const err = new Response(child.stderr).text();
  // The agent coming online, or its exit (then its output says why): whichever happens first.
  const exited = child.status.then(async (s) => {
    throw new Error(`the agent exited with ${s.code} before coming online:\n${await out}\n${await err}`);
  });
  exited.catch(() => {});
  try {
    const online = await Promise.race([events.next((e) => e.type === "connector.online"), exited]);
    assert.equal(online.data.connectorId, creds.connectorId);
    const status = await t.hub.connectors.registry.status(t.org, creds.connectorId);
    assert.equal(status.state, "online");
    assert.equal(status.agentIntervalSec, 60);
    await t.hub.connectors.dispatcher.pollNow(t.org);
    await Promise.race([events.next((e) => e.type === "sla.snapshot" && e.data.filter === "arrears"), exited]);
    assert.deepEqual((await t.hub.connectors.sla.dashboard(t.org)).overdue.map((r) => r.id), ["T-1"]);
  } finally {
    await events.close();
    child.kill("SIGTERM");
    const status = await child.status;
    const text = await out;
    await err;
    await t.close();
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, text);
    assert.match(text, /connector: connected to ws:\/\/127\.0\.0\.1:\d+\/connectors\/ws as con_/);
    assert.match(text, /connector: stopping/);
    assert.match(text, /connector: INTERVAL=60 is shown on the hub; polls come on the organization's interval/);
  }
});

Deno.test("deno task connector with a bad environment names each variable and exits 2", async () => {
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "lib/connector/agent_main.ts"],
    cwd: root,
    clearEnv: true,
    env: { SERVER: "not a url", TOKEN: "x", KEY: "y", NO_COLOR: "1", HOME: Deno.env.get("HOME") ?? "/tmp" },
  }).output();
  assert.equal(res.code, 2);
  const text = new TextDecoder().decode(res.stderr);
  assert.match(text, /CONNECTOR_ID: required: the connector's id from the hub/);
  assert.match(text, /SERVER: must be the hub's URL/);
  assert.match(text, /EMAIL: required: the ticket system login/);
});
