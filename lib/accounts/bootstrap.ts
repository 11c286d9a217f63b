/**
 * First start: the first organization and its owner come from
 * SHLYUZ_ADMIN_EMAIL/PASSWORD, or a one-time setup link is printed.
 * SHLYUZ_ADMIN_TOKEN becomes an owner API token with exactly that value,
 * bound to the operator (see `TokenBinding`), unless that value was revoked.
 *
 * The setup link is good for one use, for SETUP_LINK_TTL_MS, and only while
 * no organization exists at all: once one does — from the environment, the
 * link itself or the API — every pending link is dead.
 */
import type { Config } from "../config.ts";
import { randomToken } from "../ids.ts";
import type { Logger } from "../log.ts";
import { SYSTEM_ACTOR } from "./audit.ts";
import { createOrg, createUser, findUserByEmail, listOrgs, type Org } from "./store.ts";
import { ensureToken } from "./tokens.ts";

/** How long a printed setup link stays valid: 24 hours. A restart after that prints a new one. */
export const SETUP_LINK_TTL_MS = 24 * 3600_000;

/** What `["setup", code]` holds. */
interface SetupEntry {
  createdAt: number;
}

export interface BootstrapResult {
  org?: Org;
  setupUrl?: string;
}

export async function bootstrap(
  kv: Deno.Kv,
  config: Config,
  log: Logger,
  { now = Date.now() }: { now?: number } = {},
): Promise<BootstrapResult> {
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
    const outcome = await ensureToken(kv, first.id, config.SHLYUZ_ADMIN_TOKEN, { role: "owner", actor: SYSTEM_ACTOR });
    if (outcome === "revoked") {
      log.warn(
        "SHLYUZ_ADMIN_TOKEN holds a value that was revoked: it stays revoked and is not re-created; to rotate, set SHLYUZ_ADMIN_TOKEN to a new value and restart",
      );
    }
  }
  if (orgs.length > 0) {
    await dropSetupCodes(kv);
    return { org: first };
  }
  const code = await setupCode(kv, now);
  const base = config.PUBLIC_URL ?? `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${config.PORT}`;
  const setupUrl = `${base.replace(/\/$/, "")}/admin/setup/${code}`;
  log.warn("no organization yet: open the one-time setup link to create the first owner", { setupUrl });
  return { setupUrl };
}

/** The pending setup code, created once and reused until it is spent or expires. */
async function setupCode(kv: Deno.Kv, now: number): Promise<string> {
  for await (const e of kv.list<SetupEntry>({ prefix: ["setup"] })) {
    if (fresh(e.value, now)) return String(e.key[1]);
    await kv.delete(e.key);
  }
  const code = randomToken(24);
  await kv.set(["setup", code], { createdAt: now } satisfies SetupEntry, { expireIn: SETUP_LINK_TTL_MS });
  return code;
}

async function dropSetupCodes(kv: Deno.Kv): Promise<void> {
  for await (const e of kv.list({ prefix: ["setup"] })) await kv.delete(e.key);
}

/** KV expiry is lazy, so the age is checked here too; entries of the old shape (`true`) count as expired. */
function fresh(entry: unknown, now: number): boolean {
  const createdAt = (entry as Partial<SetupEntry> | null)?.createdAt;
  return typeof createdAt === "number" && now - createdAt < SETUP_LINK_TTL_MS && now >= createdAt;
}

async function anyOrgExists(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kv.list({ prefix: ["org"] }, { limit: 1 })) return true;
  return false;
}

/** Setup codes are `randomToken(24)`; anything else (too long for a KV key, say) is simply not one. */
const CODE_SHAPE = /^[\w-]{20,100}$/;

/** Spends the setup code; true only for the first caller with a valid code while no organization exists. */
export async function consumeSetupCode(kv: Deno.Kv, code: string, now = Date.now()): Promise<boolean> {
  if (!CODE_SHAPE.test(code)) return false;
  const entry = await kv.get<SetupEntry>(["setup", code]);
  if (!entry.versionstamp) return false;
  const usable = fresh(entry.value, now) && !(await anyOrgExists(kv));
  const res = await kv.atomic().check(entry).delete(["setup", code]).commit();
  return res.ok && usable;
}

/** True while the code may still create the first organization (unused, not expired, no organization yet). */
export async function setupCodeValid(kv: Deno.Kv, code: string, now = Date.now()): Promise<boolean> {
  if (!CODE_SHAPE.test(code)) return false;
  const entry = await kv.get<SetupEntry>(["setup", code]);
  return entry.versionstamp !== null && fresh(entry.value, now) && !(await anyOrgExists(kv));
}
