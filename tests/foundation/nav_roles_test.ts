import assert from "node:assert/strict";
import { startTestHub, type TestHub } from "../helpers/hub.ts";
import type { Role } from "../../lib/accounts/roles.ts";

/** A session cookie of a new member with `role` (the owner is the environment's). */
async function sessionAs(t: TestHub, role: Role): Promise<string> {
  const email = `${role}@example.com`;
  const password = "a long enough password";
  if (role !== "owner") {
    const added = await t.api("/api/v1/members", { method: "POST", json: { email, password, role } });
    assert.equal(added.status, 201, await added.text());
  }
  const res = await fetch(`${t.url}/admin/login`, {
    method: "POST",
    body: new URLSearchParams({ email, password }),
    redirect: "manual",
  });
  await res.body?.cancel();
  assert.equal(res.status, 303, `${role} logs in`);
  return res.headers.get("set-cookie")!.split(";")[0];
}

/** The links of the page's area navigation. */
function navLinks(html: string): string[] {
  const navs = [...html.matchAll(/<nav class="areas">(.*?)<\/nav>/gs)].map((m) => m[1]).join("");
  return [...navs.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
}

Deno.test("each role's navigation shows exactly the pages it may open", async () => {
  const t = await startTestHub({
    env: { SHLYUZ_ADMIN_EMAIL: "owner@example.com", SHLYUZ_ADMIN_PASSWORD: "a long enough password" },
  });
  try {
    const page = (cookie: string, path: string) =>
      fetch(`${t.url}${path}`, { headers: { cookie, accept: "text/html" }, redirect: "manual" });
    let all: string[] = [];
    for (const role of ["owner", "admin", "operator", "viewer"] as const) {
      const cookie = await sessionAs(t, role);
      const home = await page(cookie, "/admin");
      const links = navLinks(await home.text());
      if (role === "owner") all = links;
      assert.ok(links.length > 5, `${role} sees a navigation`);
      for (const href of all) {
        const res = await page(cookie, href);
        await res.body?.cancel();
        const shown = links.includes(href);
        assert.equal(res.status, shown ? 200 : 403, `${role}: ${href} is ${shown ? "shown" : "hidden"}`);
      }
    }
    assert.ok(all.includes("/admin/settings") && all.includes("/admin/dead-letters"));
  } finally {
    await t.close();
  }
});
