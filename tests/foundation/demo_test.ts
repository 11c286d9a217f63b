import assert from "node:assert/strict";
import { eventually } from "../helpers/hub.ts";

Deno.test({
  name: "deno task demo starts the hub with the fakes and seeds every area without a refused call",
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tests/fakes/demo.ts"],
      env: { PORT: String(port), SHLYUZ_LOG_LEVEL: "warn", SHLYUZ_DATA_DIR: await Deno.makeTempDir() },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const stderr = new Response(child.stderr).text();
    try {
      let out = "";
      const until = Date.now() + 60_000;
      while (!/API token for curl: \S+\n/.test(out) && Date.now() < until) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      lines.push(...out.split("\n"));
      assert.ok(out.includes("Shlyuz demo:"), `demo did not finish seeding:\n${out}`);
      const token = /API token for curl: (\S+)/.exec(out)?.[1];
      assert.ok(token);
      // Results are published by queue handlers, a moment after the seeding calls answered.
      const wanted = ["onec.task.created", "task.done", "custom.demo"];
      const types = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/events/recent?limit=100`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const seen = new Set((await res.json()).items.map((e: { type: string }) => e.type));
        return wanted.every((t) => seen.has(t)) ? seen : null;
      }, { timeoutMs: 15_000, everyMs: 100 }).catch(() => new Set<string>());
      for (const t of wanted) assert.ok(types?.has(t), `${t} missing`);
    } finally {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
    }
    const err = await stderr;
    assert.ok(!/demo: .* → [45]\d\d/.test(lines.join("\n") + err), `a seeding call was refused:\n${err}`);
  },
});
