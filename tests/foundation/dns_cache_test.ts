/**
 * The guard's resolver cache: one lookup per name per TTL and one for calls
 * that ask at the same moment; empty answers and failures are asked again.
 */
import assert from "node:assert/strict";
import { cachedResolver, checkHost, systemLookup } from "../../lib/http/url_guard.ts";

function countingLookup(answers: Record<string, string[] | Error>) {
  const asked: string[] = [];
  const lookup = (host: string) => {
    asked.push(host);
    const a = answers[host] ?? [];
    return a instanceof Error ? Promise.reject(a) : new Promise<string[]>((r) => setTimeout(() => r(a), 5));
  };
  return { asked, lookup };
}

Deno.test("the resolver cache asks once for concurrent calls and once per TTL, and keeps no empty answer or failure", async () => {
  let now = 1_000;
  const { asked, lookup } = countingLookup({
    "a.test": ["93.184.216.34"],
    "gone.test": [],
    "bad.test": new Error("x"),
  });
  const resolve = cachedResolver(lookup, { ttlMs: 30_000, maxNames: 10, now: () => now });
  const together = await Promise.all(Array.from({ length: 50 }, () => resolve("a.test")));
  assert.ok(together.every((a) => a[0] === "93.184.216.34"));
  assert.deepEqual(asked, ["a.test"], "50 concurrent calls, one lookup");
  now += 29_999;
  await resolve("a.test");
  assert.equal(asked.length, 1, "within the TTL the answer is reused");
  now += 2;
  await resolve("a.test");
  assert.equal(asked.length, 2, "after the TTL the name is asked again");
  assert.deepEqual(await resolve("gone.test"), []);
  assert.deepEqual(await resolve("gone.test"), []);
  await assert.rejects(() => resolve("bad.test"));
  await assert.rejects(() => resolve("bad.test"));
  assert.deepEqual(
    asked.slice(2),
    ["gone.test", "gone.test", "bad.test", "bad.test"],
    "no empty answer or failure kept",
  );
});

Deno.test("the resolver cache keeps at most maxNames names, dropping the oldest answer", async () => {
  const { asked, lookup } = countingLookup({ "1.test": ["1.1.1.1"], "2.test": ["2.2.2.2"], "3.test": ["3.3.3.3"] });
  const resolve = cachedResolver(lookup, { ttlMs: 60_000, maxNames: 2 });
  for (const h of ["1.test", "2.test", "3.test", "3.test", "2.test"]) await resolve(h);
  assert.deepEqual(asked, ["1.test", "2.test", "3.test"]);
  await resolve("1.test");
  assert.deepEqual(asked, ["1.test", "2.test", "3.test", "1.test"], "the oldest name was dropped");
});

Deno.test("a lookup where A or AAAA went unanswered is not kept; 'no such records' for one family is", async () => {
  let aTimesOut = true;
  let asked = 0;
  const resolve = ((host: string, type: "A" | "AAAA") => {
    asked++;
    if (host === "half.test") {
      if (type === "AAAA") return Promise.resolve(["2606:4700::1"]);
      return aTimesOut ? Promise.reject(new Deno.errors.TimedOut("dns timeout")) : Promise.resolve(["10.0.0.5"]);
    }
    // v4only.test: AAAA has no records.
    return type === "A" ? Promise.resolve(["93.184.216.34"]) : Promise.reject(new Deno.errors.NotFound("no AAAA"));
  }) as unknown as typeof Deno.resolveDns;
  const cached = cachedResolver(systemLookup(resolve), { ttlMs: 60_000, maxNames: 10 });
  const policy = { allowPrivate: false, resolve: cached };
  assert.equal((await checkHost("half.test", policy)).ok, true, "the half that answered is public");
  aTimesOut = false;
  const again = await checkHost("half.test", policy);
  assert.equal(again.ok, false, "the next check asks again and sees the private A record");
  assert.equal(asked, 4);
  await cached("v4only.test");
  await cached("v4only.test");
  assert.equal(asked, 6, "an answer with one family's NotFound is whole and kept");
});
