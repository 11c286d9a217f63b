/**
 * The one guarded fetch (issue 9): the address policy on the first request and
 * on every redirect hop, secret headers dropped when a hop changes origin, a
 * bounded number of hops — and the operator's private-network ceiling.
 * Names like `allowed.test` resolve (for the guard) to a public address; the
 * test's fetch maps them onto local servers, so only the guard decides.
 */
import assert from "node:assert/strict";
import { guardedFetch } from "../../lib/http/guarded_fetch.ts";
import { effectivePolicy } from "../../lib/http/url_guard.ts";
import { parseCidr } from "../../lib/http/cidr.ts";
import { UpstreamApiError } from "../../lib/errors.ts";
import { ConfigError, loadConfig } from "../../lib/config.ts";
import { sendWebhook } from "../../lib/enrichment/webhooks.ts";
import { recordingServer as server, redirectWorld as world } from "../helpers/redirect_world.ts";

const refused = (code: string) => (e: unknown) => e instanceof UpstreamApiError && e.code === code;

Deno.test("a 307 from an allowed address to a refused one is refused, and the refused target sees nothing", async () => {
  const internal = server(() => new Response("secret inside"));
  const hop = server(() => Response.redirect(`http://127.0.0.1:${internal.port}/internal`, 307));
  try {
    const { policy, fetch } = world({ "allowed.test": hop.port });
    await assert.rejects(
      () =>
        guardedFetch("http://allowed.test/hook", { method: "POST", body: "{}" }, { policy, service: "Webhook", fetch }),
      (e: unknown) => refused("address_refused")(e) && /redirected to a refused address/.test((e as Error).message),
    );
    assert.equal(hop.seen.length, 1);
    assert.equal(internal.seen.length, 0, "the POST never reached the refused address");

    // The result webhook goes through the same guard: not delivered either.
    await assert.rejects(() =>
      sendWebhook("http://allowed.test/hook", { secret: "s", payload: { results: [] }, policy, fetch })
    );
    assert.equal(internal.seen.length, 0);
  } finally {
    await internal.close();
    await hop.close();
  }
});

Deno.test("secret headers never follow a cross-origin hop; a same-origin hop keeps them; 307 keeps method and body", async () => {
  const other = server(() => new Response("ok"));
  const base = server((req) =>
    new URL(req.url).pathname === "/same"
      ? Response.redirect("http://allowed.test/moved", 307)
      : new URL(req.url).pathname === "/moved"
      ? Response.redirect("http://other.test/landed", 307)
      : new Response("?")
  );
  try {
    const { policy, fetch } = world({ "allowed.test": base.port, "other.test": other.port });
    const headers = { "x-secret": "dadata-secret", authorization: "Token api-key", "x-keep": "plain" };
    const res = await guardedFetch("http://allowed.test/same", { method: "POST", headers, body: '{"q":1}' }, {
      policy,
      service: "DaData",
      fetch,
    });
    assert.equal(await res.text(), "ok");
    const moved = base.seen.find((s) => s.path === "/moved")!;
    assert.equal(moved.headers.get("x-secret"), "dadata-secret", "same origin keeps the secret");
    const landed = other.seen[0];
    assert.equal(landed.method, "POST");
    assert.equal(landed.body, '{"q":1}');
    assert.equal(landed.headers.get("x-secret"), null, "X-Secret dropped on the cross-origin hop");
    assert.equal(landed.headers.get("authorization"), null, "Authorization dropped on the cross-origin hop");
    assert.equal(landed.headers.get("x-keep"), "plain");
  } finally {
    await other.close();
    await base.close();
  }
});

Deno.test("a caller's own secret headers (any case) are dropped on a cross-origin hop; the caller's headers stay as given", async () => {
  const other = server(() => new Response("ok"));
  const base = server(() => Response.redirect("http://other.test/landed", 302));
  try {
    const { policy, fetch } = world({ "allowed.test": base.port, "other.test": other.port });
    const headers = new Headers({ "X-Sig": "sha256=abc", "X-Api-Key": "k", "x-keep": "plain" });
    const res = await guardedFetch("http://allowed.test/hook", { method: "GET", headers }, {
      policy,
      service: "Schedule",
      fetch,
      secretHeaders: ["x-sig", "X-API-KEY"],
    });
    assert.equal(await res.text(), "ok");
    assert.equal(base.seen[0].headers.get("x-sig"), "sha256=abc", "the first hop carries them");
    const landed = other.seen[0].headers;
    assert.equal(landed.get("x-sig"), null);
    assert.equal(landed.get("x-api-key"), null);
    assert.equal(landed.get("x-keep"), "plain");
    assert.equal(headers.get("x-sig"), "sha256=abc", "the caller's Headers object is not edited");
  } finally {
    await other.close();
    await base.close();
  }
});

Deno.test("redirect loops and endless chains are bounded", async () => {
  const loop = server((req) => {
    const p = new URL(req.url).pathname;
    if (p === "/a") return Response.redirect("http://allowed.test/b", 302);
    if (p === "/b") return Response.redirect("http://allowed.test/a", 302);
    const n = Number(p.slice(3));
    return Response.redirect(`http://allowed.test/ch${n + 1}`, 302);
  });
  try {
    const { policy, fetch } = world({ "allowed.test": loop.port });
    await assert.rejects(
      () => guardedFetch("http://allowed.test/a", {}, { policy, service: "X", fetch }),
      refused("too_many_redirects"),
    );
    const before = loop.seen.length;
    await assert.rejects(
      () => guardedFetch("http://allowed.test/ch0", {}, { policy, service: "X", fetch }),
      refused("too_many_redirects"),
    );
    assert.equal(loop.seen.length - before, 6, "the first request and five hops, no more");
  } finally {
    await loop.close();
  }
});

Deno.test("the operator's ceiling: off refuses private networks even when the organization allows them; a CIDR list bounds them", async () => {
  const local = server(() => new Response("ok"));
  try {
    const url = `http://127.0.0.1:${local.port}/`;
    const off = effectivePolicy({ tenantAllowsPrivate: true, ceiling: false });
    await assert.rejects(
      () => guardedFetch(url, {}, { policy: off, service: "X" }),
      (e: unknown) => refused("address_refused")(e) && /SHLYUZ_ALLOW_PRIVATE_NETWORKS/.test((e as Error).message),
    );
    const outside = effectivePolicy({ tenantAllowsPrivate: true, ceiling: [parseCidr("10.0.0.0/8")!] });
    await assert.rejects(() => guardedFetch(url, {}, { policy: outside, service: "X" }), refused("address_refused"));
    const tenantOff = effectivePolicy({ tenantAllowsPrivate: false, ceiling: true });
    await assert.rejects(() => guardedFetch(url, {}, { policy: tenantOff, service: "X" }), refused("address_refused"));
    assert.equal(local.seen.length, 0);
    const inside = effectivePolicy({ tenantAllowsPrivate: true, ceiling: [parseCidr("127.0.0.0/8")!] });
    assert.equal(await (await guardedFetch(url, {}, { policy: inside, service: "X" })).text(), "ok");
    assert.equal(local.seen.length, 1);
  } finally {
    await local.close();
  }
});

Deno.test("SHLYUZ_ALLOW_PRIVATE_NETWORKS: a bad value stops start-up naming the variable", () => {
  assert.throws(
    () => loadConfig({ SHLYUZ_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/33" }),
    (e: unknown) => e instanceof ConfigError && /SHLYUZ_ALLOW_PRIVATE_NETWORKS/.test(e.message),
  );
  assert.deepEqual(loadConfig({ SHLYUZ_ALLOW_PRIVATE_NETWORKS: "on" }).SHLYUZ_ALLOW_PRIVATE_NETWORKS, true);
  assert.equal(loadConfig({}).SHLYUZ_ALLOW_PRIVATE_NETWORKS, false);
});
