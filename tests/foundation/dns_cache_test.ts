/**
 * The guard's resolver cache: one lookup per name per TTL and one for calls
 * that ask at the same moment; empty answers and failures are asked again.
 */
import assert from "node:assert/strict";
import { cachedResolver } from "../../lib/http/url_guard.ts";

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
