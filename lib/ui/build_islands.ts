/**
 * `deno task build`: bundles every island (islands/*.tsx not starting with
 * `_`) into static/islands/<name>.js with a small hydration entry, every lazy
 * part (islands/<name>.lazy.tsx: code an island `import()`s only when it needs
 * it, e.g. charts) into static/islands/<name>.lazy.js as a plain ES module, and copies
 * the vendored browser assets (Pico CSS, Swagger UI, uPlot) from npm packages into
 * static/vendor/, so the hub serves everything itself and works offline.
 */
// deno-lint-ignore-file no-console

const root = new URL("../../", import.meta.url);
const path = (p: string) => new URL(p, root).pathname;

const VENDOR: Array<[string, string]> = [
  ["node_modules/@picocss/pico/css/pico.min.css", "static/vendor/pico.min.css"],
  ["node_modules/swagger-ui-dist/swagger-ui.css", "static/vendor/swagger-ui.css"],
  ["node_modules/swagger-ui-dist/swagger-ui-bundle.js", "static/vendor/swagger-ui-bundle.js"],
  // Charts (islands/chart.tsx loads these once per page, so island bundles stay small).
  ["node_modules/uplot/dist/uPlot.iife.min.js", "static/vendor/uPlot.iife.min.js"],
  ["node_modules/uplot/dist/uPlot.min.css", "static/vendor/uPlot.min.css"],
];

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: path("."), stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`deno ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

async function copyVendor() {
  if (!(await exists(path(VENDOR[0][0])))) await run(["install", "--quiet"]);
  await Deno.mkdir(path("static/vendor"), { recursive: true });
  for (const [from, to] of VENDOR) await Deno.copyFile(path(from), path(to));
}

function entrySource(name: string): string {
  return `import { h, hydrate } from "preact";
import Island from "../../islands/${name}.tsx";
for (const el of document.querySelectorAll('[data-island="${name}"]')) {
  const props = JSON.parse(el.getAttribute("data-props") || "{}");
  hydrate(h(Island, props), el);
}
`;
}

async function bundleIslands(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(path("islands"))) {
    if (e.isFile && e.name.endsWith(".tsx") && !e.name.startsWith("_")) names.push(e.name.slice(0, -4));
  }
  names.sort();
  const tmp = path("static/.entries/");
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.mkdir(path("static/islands"), { recursive: true });
  try {
    for (const name of names) {
      // A lazy part keeps its exports (the island that imports it calls them); an island gets hydrated.
      const source = name.endsWith(".lazy") ? `export * from "../../islands/${name}.tsx";\n` : entrySource(name);
      await Deno.writeTextFile(`${tmp}${name}.ts`, source);
    }
    // One `deno bundle` for every entry point: on an empty Deno cache, parallel bundle
    // processes race to unpack the same esbuild binary and fail (STACK-NOTES). One call is
    // also faster warm — one esbuild start instead of one per island.
    await run([
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--outdir",
      "static/islands",
      ...names.map((name) => `${tmp}${name}.ts`),
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  return names;
}

if (import.meta.main) {
  const started = performance.now();
  await copyVendor();
  const names = await bundleIslands();
  console.log(`built ${names.length} islands (${names.join(", ")}) in ${Math.round(performance.now() - started)} ms`);
}
