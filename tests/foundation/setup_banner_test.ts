import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { freePort, spawnMain } from "../helpers/main_process.ts";

Deno.test("a first start prints the setup link as a SETUP banner line, and the link opens the setup page", async () => {
  const port = freePort();
  const main = spawnMain({
    PORT: String(port),
    SHLYUZ_KV_PATH: ":memory:",
    SHLYUZ_DISABLE_CRON: "1",
    SHLYUZ_DATA_DIR: await Deno.makeTempDir(),
  }, { stdout: "piped" });
  let out = "";
  let link: string | undefined;
  // A hub that never prints the line is stopped, so the test fails with what it did print instead of hanging.
  const giveUp = setTimeout(() => main.stop("SIGTERM"), 20_000);
  try {
    const reader = main.child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (!link) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
        link = /^SETUP {2}(http:\/\/\S+)$/m.exec(out)?.[1];
      }
    } finally {
      await reader.cancel();
    }
    assert.ok(link, `no "SETUP  http://…" line on the console:\n${out}`);
    assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${port}/admin/setup/[\\w-]+$`));
    // A line of its own (the regex above is anchored to lines), printed after the hub said it listens.
    const lines = out.split("\n");
    const listening = lines.findIndex((l) => l.includes('"msg":"Shlyuz is listening"'));
    assert.ok(listening >= 0 && listening < lines.indexOf(`SETUP  ${link}`), out);
    const page = await fetch(link);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form method="post" action="\/admin\/setup\//);
  } finally {
    clearTimeout(giveUp);
    await main.stop("SIGTERM");
  }
});

Deno.test("while no organization exists the login page says to open the SETUP link; afterwards it does not", async () => {
  const t = await startTestHub({ owner: false });
  try {
    const pending = await (await fetch(`${t.url}/admin/login`)).text();
    assert.match(pending, /data-testid="setup-pending"[^>]*>.*строка «SETUP»/s);
    const code = new URL(t.setupUrl!).pathname;
    const made = await fetch(`${t.url}${code}`, {
      method: "POST",
      body: new URLSearchParams({ org: "ООО «Ромашка»", email: "first@example.com", password: "long enough password" }),
      redirect: "manual",
    });
    await made.body?.cancel();
    assert.equal(made.status, 303);
    const after = await (await fetch(`${t.url}/admin/login`)).text();
    assert.doesNotMatch(after, /setup-pending/);
  } finally {
    await t.close();
  }
});
