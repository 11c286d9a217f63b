import assert from "node:assert/strict";
import { HandshakeThrottle } from "../../lib/connector/handshake_throttle.ts";

Deno.test("HandshakeThrottle locks a pair at its ceiling, frees it after the window and on success", () => {
  let now = 0;
  const th = new HandshakeThrottle({ now: () => now, windowMs: 1000, maxPerPair: 2, maxPerAddress: 5 });
  th.refused("10.0.0.1", "con_a");
  assert.equal(th.locked("10.0.0.1", "con_a"), null);
  th.refused("10.0.0.1", "con_a");
  assert.equal(th.locked("10.0.0.1", "con_a"), "pair");
  assert.equal(th.locked("10.0.0.2", "con_a"), null, "another address may still try that id");
  assert.equal(th.locked("10.0.0.1", "con_b"), null, "that address may still try another id");
  now = 1000;
  assert.equal(th.locked("10.0.0.1", "con_a"), null, "the window passed");
  th.refused("10.0.0.1", "con_a");
  th.refused("10.0.0.1", "con_a");
  th.succeeded("10.0.0.1", "con_a");
  assert.equal(th.locked("10.0.0.1", "con_a"), null);
});

Deno.test("HandshakeThrottle keeps at most maxKeys counters, dropping the least recently bumped", () => {
  const th = new HandshakeThrottle({ maxPerPair: 1, maxPerAddress: 100, maxKeys: 4 });
  th.refused("10.0.0.1", "con_a"); // address:10.0.0.1, pair …con_a
  assert.equal(th.locked("10.0.0.1", "con_a"), "pair");
  th.refused("10.0.0.2", "con_x");
  th.refused("10.0.0.3", "con_y"); // six counters asked for: the first address's two go
  assert.equal(th.locked("10.0.0.1", "con_a"), null);
  assert.equal(th.locked("10.0.0.3", "con_y"), "pair");
});
