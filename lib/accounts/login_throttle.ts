/**
 * Login throttling, so one person's typos never lock out another account.
 * Three counters per failed attempt, each with its own ceiling in a 15-minute
 * window:
 * - this account from this address (5): a typing person stops here, and only
 *   for their own account on their own address;
 * - this account from anywhere (20): guessing one password from many addresses;
 * - this address for any account (50): one address trying many accounts. An
 *   office NAT or a reverse proxy shares one address, so this ceiling is well
 *   above what a team's typos reach (read the real client address behind a
 *   proxy with SHLYUZ_TRUSTED_PROXIES, see clientAddress()).
 * Each attempt is reserved before the (slow) password check with a
 * check-and-set, so parallel guesses cannot slip past a ceiling; a successful
 * login clears the account's counters (not the address's).
 */
import { addressForLimits } from "../http/ip.ts";

export interface ThrottleRule {
  /** The KV key part: `pair:…`, `account:…`, `address:…`. */
  key: string;
  max: number;
}

export const LOGIN_WINDOW_MS = 15 * 60_000;

/**
 * The three counters of a login attempt by `email` from `clientAddress`. The
 * address counts as addressForLimits says (an IPv6 host by its /64), so a host
 * cannot rotate through its own addresses past the ceilings.
 */
export function loginThrottleRules(email: string, clientAddress: string): ThrottleRule[] {
  const account = email.toLowerCase();
  const address = addressForLimits(clientAddress);
  return [
    { key: `pair:${address}:${account}`, max: 5 },
    { key: `account:${account}`, max: 20 },
    { key: `address:${address}`, max: 50 },
  ];
}

export type Reservation =
  | { ok: true; /** Rules this attempt filled up: if it fails, they lock from now on. */ filling: ThrottleRule[] }
  | { ok: false; /** The first rule already at its ceiling. */ locked: ThrottleRule };

/** Reserves one attempt on every rule, or refuses when a rule already reached its ceiling. */
export async function reserveLoginAttempt(
  kv: Deno.Kv,
  rules: ThrottleRule[],
  { windowMs = LOGIN_WINDOW_MS }: { windowMs?: number } = {},
): Promise<Reservation> {
  for (let tries = 0; tries < 20; tries++) {
    const entries = await kv.getMany<number[]>(rules.map((r) => ["login_fail", r.key]));
    const locked = rules.find((r, i) => (entries[i].value ?? 0) >= r.max);
    if (locked) return { ok: false, locked };
    const op = kv.atomic();
    for (const e of entries) op.check(e).set(e.key, (e.value ?? 0) + 1, { expireIn: windowMs });
    if ((await op.commit()).ok) {
      return { ok: true, filling: rules.filter((r, i) => (entries[i].value ?? 0) + 1 >= r.max) };
    }
  }
  return { ok: false, locked: rules[0] }; // heavy contention on one account: treat as throttled
}

/** After a successful login: the account's counters start again; the address keeps its count. */
export async function clearLoginFailures(kv: Deno.Kv, rules: ThrottleRule[]): Promise<void> {
  const op = kv.atomic();
  for (const r of rules) if (!r.key.startsWith("address:")) op.delete(["login_fail", r.key]);
  await op.commit();
}

/**
 * The client's address: the socket's peer, or — only when that peer is one
 * of `trustedProxies` — the nearest untrusted address in `X-Forwarded-For`
 * (read right to left, since a client can prepend anything it likes).
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | null | undefined,
  trustedProxies: readonly string[],
): string {
  if (!forwardedFor || !isTrusted(peer, trustedProxies)) return peer;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!isTrusted(hops[i], trustedProxies)) return hops[i];
  }
  return hops[0] ?? peer;
}

/** An exact address or an IPv4 CIDR range (`10.0.0.0/8`). IPv4-mapped IPv6 peers count as IPv4. */
function isTrusted(address: string, trusted: readonly string[]): boolean {
  const plain = address.replace(/^::ffff:/i, "");
  return trusted.some((entry) => {
    if (!entry.includes("/")) return entry === plain || entry === address;
    const [base, bits] = entry.split("/");
    const a = ipv4(plain);
    const b = ipv4(base);
    const n = Number(bits);
    if (a === null || b === null || !Number.isInteger(n) || n < 0 || n > 32) return false;
    const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
    return ((a & mask) >>> 0) === ((b & mask) >>> 0);
  });
}

function ipv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) return null;
    value = value * 256 + n;
  }
  return value >>> 0;
}
