import assert from "node:assert/strict";

/**
 * Islands take the event type from lib/events/types.ts with `import type`: the
 * catalogue, zod and the bus must never reach a browser bundle. `deno task
 * test` builds the islands first.
 */
Deno.test("island bundles carry nothing of the event catalogue or the bus", async () => {
  const dir = new URL("../../static/islands/", import.meta.url);
  let checked = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.endsWith(".js")) continue;
      const text = await Deno.readTextFile(new URL(entry.name, dir));
      for (const marker of ["is not in the event catalogue", "Enrichment results were stored", "toJSONSchema"]) {
        assert.ok(!text.includes(marker), `${entry.name} contains "${marker}": server code reached the bundle`);
      }
      assert.ok(text.length < 60_000, `${entry.name} is ${text.length} bytes`);
      checked++;
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error("static/islands/ is missing: run deno task build first");
    throw error;
  }
  assert.ok(checked > 0, "the islands were built (deno task build)");
});
