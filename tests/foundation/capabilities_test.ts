import assert from "node:assert/strict";
import { allKinds, capabilities } from "../../lib/capabilities.ts";
import { startTestHub } from "../helpers/hub.ts";

const root = new URL("../../", import.meta.url);

async function sources(dir: string): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  for await (const e of Deno.readDir(new URL(dir, root))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await sources(path));
    else if (/\.tsx?$/.test(e.name)) out.push({ path, text: await Deno.readTextFile(new URL(path, root)) });
  }
  return out;
}

/** Every static and dynamic import specifier of a module (not those in comments, e.g. JSDoc examples). */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)"([^"]+)"/g)].map((m) => m[1]);
}

Deno.test("main.ts and the test harness name no capability; only a capability's mod.ts in lib/ imports jobs/", async () => {
  for (const path of ["main.ts", "tests/helpers/hub.ts", "lib/hub.ts", "lib/boot.ts"]) {
    const text = await Deno.readTextFile(new URL(path, root));
    for (const { name } of capabilities) {
      assert.doesNotMatch(text, new RegExp(`\\.${name}\\b|lib/${name}/|"\\./${name}/`), `${path} names ${name}`);
    }
  }
  for (const { path, text } of await sources("routes")) {
    const jobs = importsOf(text).filter((s) => /(^|\/)jobs\//.test(s));
    assert.deepEqual(jobs, [], `${path} imports jobs/`);
  }
  for (const { path, text } of await sources("lib")) {
    if (/^lib\/[a-z_]+\/mod\.ts$/.test(path)) continue;
    const jobs = importsOf(text).filter((s) => /(^|\/)jobs\//.test(s));
    assert.deepEqual(jobs, [], `${path} imports jobs/ (only a capability's mod.ts may)`);
  }
});

Deno.test("every capability's service is on the hub and every declared kind has its job", async () => {
  const t = await startTestHub({ http: false, listen: false });
  try {
    for (const { name } of capabilities) {
      assert.ok((t.hub as unknown as Record<string, unknown>)[name], `hub.${name} is built`);
    }
    const declared = allKinds().map((k) => k.kind).sort();
    assert.deepEqual(t.hub.queue.kinds(), declared);
    assert.ok(declared.includes("schedule.fire") && declared.includes("task.process"));
  } finally {
    await t.close();
  }
});
