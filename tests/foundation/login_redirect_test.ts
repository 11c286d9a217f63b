import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { safeNext } from "../../routes/pages/auth_pages.tsx";

const OWNER = { email: "owner@example.com", password: "correct horse battery" };

Deno.test("a page opened without a session comes back after login with its query string", async () => {
  const t = await startTestHub({ env: { SHLYUZ_ADMIN_EMAIL: OWNER.email, SHLYUZ_ADMIN_PASSWORD: OWNER.password } });
  try {
    const asked = "/admin/executions?area=scheduler&outcome=failed&q=%D0%97%D0%9A-000042";
    const page = await fetch(`${t.url}${asked}`, { redirect: "manual" });
    await page.body?.cancel();
    assert.equal(page.status, 302);
    const login = new URL(page.headers.get("location")!, t.url);
    assert.equal(login.pathname, "/admin/login");
    assert.equal(login.searchParams.get("next"), asked);

    // The login form carries it in its hidden field, and the login answers with it.
    const form = await (await fetch(login)).text();
    assert.match(form, new RegExp(`name="next" value="${asked.replaceAll("?", "\\?").replaceAll("&", "&amp;")}"`));
    const res = await fetch(`${t.url}/admin/login`, {
      method: "POST",
      body: new URLSearchParams({ ...OWNER, next: asked }),
      redirect: "manual",
    });
    await res.body?.cancel();
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), asked);
  } finally {
    await t.close();
  }
});

Deno.test("safeNext() keeps paths and queries of this hub and refuses every other origin", () => {
  assert.equal(safeNext("/admin/events?types=task.*,schedule.run"), "/admin/events?types=task.*,schedule.run");
  assert.equal(safeNext("/admin/executions?q=ЗК-1"), "/admin/executions?q=%D0%97%D0%9A-1");
  assert.equal(safeNext("/docs"), "/docs");
  for (const bad of ["//evil.example", "/\\evil.example", "https://evil.example/admin", "/\t/evil.example", "admin"]) {
    assert.equal(safeNext(bad), "/admin", bad);
  }
  assert.equal(safeNext(undefined), "/admin");
  assert.equal(safeNext("/admin\r\nSet-Cookie: x=1"), "/adminSet-Cookie:%20x=1");
});
