/**
 * First start: the first organization and its owner come from
 * SHLYUZ_ADMIN_EMAIL/PASSWORD, or a one-time setup link is printed.
 * SHLYUZ_ADMIN_TOKEN becomes an owner API token with exactly that value.
 */
import type { Config } from "../config.ts";
import { randomToken } from "../ids.ts";
import type { Logger } from "../log.ts";
import { SYSTEM_ACTOR } from "./audit.ts";
import { createOrg, createUser, findUserByEmail, listOrgs, type Org } from "./store.ts";
import { ensureToken } from "./tokens.ts";

const SETUP_TTL = 7 * 24 * 3600_000;

export interface BootstrapResult {
  org?: Org;
  setupUrl?: string;
}

export async function bootstrap(kv: Deno.Kv, config: Config, log: Logger): Promise<BootstrapResult> {
  let orgs = await listOrgs(kv);
  if (orgs.length === 0 && (config.SHLYUZ_ADMIN_EMAIL || config.SHLYUZ_ADMIN_TOKEN)) {
    let owner;
    if (config.SHLYUZ_ADMIN_EMAIL && config.SHLYUZ_ADMIN_PASSWORD) {
      owner = await findUserByEmail(kv, config.SHLYUZ_ADMIN_EMAIL) ??
        await createUser(kv, { email: config.SHLYUZ_ADMIN_EMAIL, password: config.SHLYUZ_ADMIN_PASSWORD });
    }
    const org = await createOrg(kv, config.SHLYUZ_ORG_NAME, { owner, actor: SYSTEM_ACTOR });
    log.info("created the first organization", { org: org.id, name: org.name, owner: owner?.email });
    orgs = [org];
  }
  const first = orgs[0];
  if (first && config.SHLYUZ_ADMIN_TOKEN) {
    await ensureToken(kv, first.id, config.SHLYUZ_ADMIN_TOKEN, "owner", SYSTEM_ACTOR);
  }
  if (orgs.length > 0) return { org: first };
  const code = await setupCode(kv);
  const base = config.PUBLIC_URL ?? `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${config.PORT}`;
  const setupUrl = `${base.replace(/\/$/, "")}/admin/setup/${code}`;
  log.warn("no organization yet: open the one-time setup link to create the first owner", { setupUrl });
  return { setupUrl };
}

/** The pending setup code, created once and reused until it is spent. */
async function setupCode(kv: Deno.Kv): Promise<string> {
  for await (const e of kv.list<true>({ prefix: ["setup"] })) return String(e.key[1]);
  const code = randomToken(24);
  await kv.set(["setup", code], true, { expireIn: SETUP_TTL });
  return code;
}

/** Setup codes are `randomToken(24)`; anything else (too long for a KV key, say) is simply not one. */
const CODE_SHAPE = /^[\w-]{20,100}$/;

/** Spends the setup code; true only for the first caller with a valid code. */
export async function consumeSetupCode(kv: Deno.Kv, code: string): Promise<boolean> {
  if (!CODE_SHAPE.test(code)) return false;
  const entry = await kv.get(["setup", code]);
  if (!entry.versionstamp) return false;
  const res = await kv.atomic().check(entry).delete(["setup", code]).commit();
  return res.ok;
}

export async function setupCodeValid(kv: Deno.Kv, code: string): Promise<boolean> {
  if (!CODE_SHAPE.test(code)) return false;
  return (await kv.get(["setup", code])).versionstamp !== null;
}
