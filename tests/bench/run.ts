/**
 * `deno task bench`: runs every benchmark module in tests/bench (each exports
 * `run()` returning its figures) one after another and prints the figures.
 * `deno task bench foundation enrichment` runs only those.
 */
// deno-lint-ignore-file no-console

const only = Deno.args;
const dir = new URL("./", import.meta.url);
const skip = new Set(["run.ts", "load.ts"]);
const names: string[] = [];
for await (const e of Deno.readDir(dir)) {
  if (e.isFile && e.name.endsWith(".ts") && !skip.has(e.name)) names.push(e.name.slice(0, -3));
}
names.sort((a, b) => (a === "foundation" ? -1 : b === "foundation" ? 1 : a.localeCompare(b)));

const all: Record<string, Record<string, number | string>> = {};
for (const name of names) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n## ${name}`);
  const mod = await import(new URL(`./${name}.ts`, dir).href);
  const started = performance.now();
  try {
    all[name] = await mod.run();
    console.table(all[name]);
  } catch (error) {
    console.error(`${name} failed:`, error);
    all[name] = { error: String(error) };
  }
  console.log(`(${Math.round((performance.now() - started) / 1000)} s)`);
}
console.log("\nJSON:", JSON.stringify(all));
