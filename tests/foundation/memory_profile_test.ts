/**
 * The hub's memory profile (V8 flags) is written twice — `deno task start` in
 * deno.json and the Dockerfile's CMD — and benchmarks read it from deno.json.
 * These checks keep the two the same, and prove this Deno's V8 takes them
 * (Deno refuses to start on a flag V8 does not know, so a typo would stop the hub).
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const flagsIn = (text: string) => /--v8-flags=([^\s"]+)/.exec(text)?.[1];

Deno.test("deno task start and the Dockerfile run the hub with the same V8 memory profile", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const start = flagsIn(config.tasks.start);
  assert.ok(start, "deno task start has no --v8-flags");
  assert.match(start, /--max-semi-space-size=\d+/);
  const cmd = (await Deno.readTextFile(new URL("Dockerfile", root))).split("\n").find((l) => l.startsWith("CMD "));
  assert.ok(cmd, "the Dockerfile has no CMD");
  assert.equal(flagsIn(cmd), start, "the Dockerfile CMD runs the hub with other V8 flags than deno task start");
});

Deno.test("this Deno's V8 accepts the memory profile's flags", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const flags = flagsIn(config.tasks.start)!;
  const run = (f: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", `--v8-flags=${f}`, "Deno.exit(0)"],
      stdout: "null",
      stderr: "piped",
    }).output();
  const ok = await run(flags);
  assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
  // The check can fail: a flag V8 does not know stops Deno.
  const typo = await run(`${flags},--max-semi-spaces-size=4`);
  assert.notEqual(typo.code, 0);
});
