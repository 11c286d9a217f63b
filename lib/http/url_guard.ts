/**
 * The outgoing-address policy: a URL or host an organization chooses must not
 * become a way to reach cloud metadata services or the hub's own private
 * network (SSRF). The host is resolved and every address is checked, so a DNS
 * name that points at a forbidden address is refused too. The guarded fetch
 * (guarded_fetch.ts) applies it to every request and every redirect hop, the
 * guarded connect (guarded_connect.ts) to every socket.
 *
 * Always refused: link-local 169.254.0.0/16 and fe80::/10, the metadata
 * addresses 100.100.100.200 and fd00:ec2::254, metadata host names, 0.0.0.0/8,
 * ::, multicast and reserved ranges. Private addresses — 10/8, 172.16/12,
 * 192.168/16, 127/8, 100.64/10, ::1, fc00::/7 and `localhost` — only when the
 * organization's `general.allowPrivateNetworks` is on AND the address is
 * inside the operator's ceiling `SHLYUZ_ALLOW_PRIVATE_NETWORKS` (off, on, or
 * a list of CIDR ranges).
 *
 * Known limit of the fetch path: the name is resolved again by `fetch`, so a
 * DNS server that answers differently within milliseconds (rebinding) is not
 * fully excluded; the guarded connect dials the checked address itself.
 */

import type { Cidr } from "./cidr.ts";
import { inRanges } from "./cidr.ts";
import { parseIPv4, parseIPv6 } from "./ip.ts";

export { parseIPv4, parseIPv6 } from "./ip.ts";

export type AddressClass = "public" | "private" | "forbidden";

/** Resolves a host name to its IPv4 and IPv6 addresses (empty when it has none). */
export type Resolver = (host: string) => Promise<string[]>;

const METADATA_HOSTS = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "metadata.azure.internal",
  "instance-data",
  "instance-data.ec2.internal",
]);

type V4Range = [number, number, number, number, number];
const V4_FORBIDDEN: V4Range[] = [
  [0, 0, 0, 0, 8],
  [169, 254, 0, 0, 16],
  [100, 100, 100, 200, 32],
  [192, 0, 0, 0, 24],
  [224, 0, 0, 0, 4],
  [240, 0, 0, 0, 4],
];
const V4_PRIVATE: V4Range[] = [
  [10, 0, 0, 0, 8],
  [172, 16, 0, 0, 12],
  [192, 168, 0, 0, 16],
  [127, 0, 0, 0, 8],
  [100, 64, 0, 0, 10],
];

function inV4(ip: number[], [a, b, c, d, bits]: V4Range): boolean {
  const n = ((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0;
  const base = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (n & mask) === (base & mask);
}

function classifyV4(ip: number[]): AddressClass {
  if (V4_FORBIDDEN.some((r) => inV4(ip, r))) return "forbidden";
  if (V4_PRIVATE.some((r) => inV4(ip, r))) return "private";
  return "public";
}

function classifyV6(g: number[]): AddressClass {
  const embedded = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  if (g.every((x) => x === 0)) return "forbidden"; // ::
  // IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::a.b.c.d reach the IPv4 address inside.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return classifyV4(embedded(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return classifyV4(embedded(g[6], g[7]));
  }
  if (g[0] === 0x2002) return classifyV4(embedded(g[1], g[2])); // 6to4
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "private"; // ::1
  // IPv4-compatible ::a.b.c.d (deprecated), ::ffff:0:a.b.c.d (SIIT), local-use NAT64 64:ff9b:1::/48 and
  // site-local fec0::/10 (deprecated) have no business in an HTTP action: refuse them outright.
  if (g.slice(0, 6).every((x) => x === 0)) return "forbidden";
  if (g.slice(0, 4).every((x) => x === 0) && g[4] === 0xffff && g[5] === 0) return "forbidden";
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "forbidden";
  if ((g[0] & 0xffc0) === 0xfec0) return "forbidden";
  if ((g[0] & 0xffc0) === 0xfe80) return "forbidden"; // link-local
  if ((g[0] & 0xff00) === 0xff00) return "forbidden"; // multicast
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254) {
    return "forbidden"; // AWS metadata over IPv6
  }
  if ((g[0] & 0xfe00) === 0xfc00) return "private"; // unique local
  return "public";
}

/** Classifies an IP address literal; null when `ip` is not one. */
export function classifyAddress(ip: string): AddressClass | null {
  const v4 = parseIPv4(ip);
  if (v4) return classifyV4(v4);
  const v6 = parseIPv6(ip);
  return v6 ? classifyV6(v6) : null;
}

/**
 * Marks an answer that must not be reused: one of the two record types was
 * not answered (a timeout, SERVFAIL — not "no such records"), so the other
 * half may hide addresses the fetch will reach.
 */
export const PARTIAL_ANSWER: unique symbol = Symbol("shlyuz.dns.partial");

/** Addresses, marked PARTIAL_ANSWER when they are only part of the answer. */
export function partialAnswer(addresses: string[]): string[] {
  return Object.assign(addresses, { [PARTIAL_ANSWER]: true });
}

/** A and AAAA records through Deno.resolveDns, asked every time. */
export function systemLookup(resolve: typeof Deno.resolveDns = Deno.resolveDns): Resolver {
  return async (host) => {
    const lookups = await Promise.allSettled([resolve(host, "A"), resolve(host, "AAAA")]);
    const addresses = lookups.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    const unanswered = lookups.some((r) => r.status === "rejected" && !(r.reason instanceof Deno.errors.NotFound));
    return unanswered ? partialAnswer(addresses) : addresses;
  };
}

export interface ResolverCacheOptions {
  /** How long an answer with addresses is reused, ms. */
  ttlMs: number;
  /** Names kept at most; the oldest answer goes first. */
  maxNames: number;
  now?: () => number;
}

/**
 * A resolver that asks `lookup` once per name per `ttlMs`, and once for all
 * the calls that ask for a name at the same moment. Without it every guarded
 * call to a named host (each enrichment task's DaData call) waited for two DNS
 * queries of its own before its fetch resolved the name again. An empty answer,
 * a failure or a partial answer (PARTIAL_ANSWER) is not kept: a name that does
 * not resolve now may in a moment, and half an answer must not pass checks for
 * the whole TTL. The fetch after a check resolves the name by itself in any
 * case, so a record switched to a private address between check and fetch
 * gets through with or without the cache — the cache widens that window from
 * milliseconds to `ttlMs`, which is why the TTL is short.
 */
export function cachedResolver(lookup: Resolver, { ttlMs, maxNames, now = Date.now }: ResolverCacheOptions): Resolver {
  const answers = new Map<string, { until: number; addresses: string[] }>();
  const asking = new Map<string, Promise<string[]>>();
  return (host) => {
    const known = answers.get(host);
    if (known && known.until > now()) return Promise.resolve(known.addresses);
    let pending = asking.get(host);
    if (!pending) {
      pending = lookup(host).then((addresses) => {
        answers.delete(host);
        if (addresses.length > 0 && !(PARTIAL_ANSWER in addresses)) {
          answers.set(host, { until: now() + ttlMs, addresses });
          if (answers.size > maxNames) answers.delete(answers.keys().next().value!);
        }
        return addresses;
      }).finally(() => asking.delete(host));
      asking.set(host, pending);
    }
    return pending;
  };
}

/** The system resolver (A and AAAA), each name's full answer reused for 10 s. */
export const dnsResolver: Resolver = cachedResolver(systemLookup(), { ttlMs: 10_000, maxNames: 1024 });

/**
 * Which addresses an outgoing call may reach. Metadata, link-local and
 * reserved addresses are refused whatever it says.
 */
export interface AddressPolicy {
  /**
   * Private addresses (10/8, 172.16/12, 192.168/16, 127/8, 100.64/10, ::1,
   * fc00::/7, `localhost`): `false` none, `true` all, or only those inside
   * these ranges (the operator's ceiling).
   */
  allowPrivate: boolean | readonly Cidr[];
  /** Why private addresses are refused, for the message. Default: the organization's setting is off. */
  privateRefusal?: string;
  /**
   * What the policy guards, put before a refusal so the message says which
   * setting to fix ("Refused the organization's DaData base URL (dadata.baseUrl) for DaData").
   */
  refusedAs?: string;
  /** The resolver; `false` checks only what the URL says (literal addresses, metadata names), for save-time checks. */
  resolve?: Resolver | false;
}

const TENANT_REFUSAL = "the organization does not allow private networks (setting general.allowPrivateNetworks)";

/**
 * The policy for an organization's call: private addresses only when the
 * organization allows them AND within the operator's ceiling
 * (`SHLYUZ_ALLOW_PRIVATE_NETWORKS`). The tenant narrows, never widens.
 */
export function effectivePolicy(
  { tenantAllowsPrivate, ceiling }: { tenantAllowsPrivate: boolean; ceiling: boolean | readonly Cidr[] },
): AddressPolicy {
  if (!tenantAllowsPrivate) return { allowPrivate: false, privateRefusal: TENANT_REFUSAL };
  if (ceiling === false) {
    return {
      allowPrivate: false,
      privateRefusal: "the operator does not allow private networks (SHLYUZ_ALLOW_PRIVATE_NETWORKS is off)",
    };
  }
  return {
    allowPrivate: ceiling,
    privateRefusal: "the address is outside the private networks the operator allows (SHLYUZ_ALLOW_PRIVATE_NETWORKS)",
  };
}

/** The policy for the operator's own endpoints (env): any private address, never metadata or link-local. */
export const OPERATOR_POLICY: AddressPolicy = { allowPrivate: true };

/** Why one resolved address must not be called under `policy`, or null. */
function addressRefusal(addr: string, shown: string, policy: AddressPolicy): string | null {
  const kind = classifyAddress(addr) ?? "forbidden";
  if (kind === "forbidden") {
    return `Cannot call ${shown}: link-local, metadata and reserved addresses are always refused`;
  }
  if (kind === "public") return null;
  const { allowPrivate } = policy;
  if (allowPrivate === true) return null;
  if (allowPrivate !== false && inRanges(addr, allowPrivate)) return null;
  return `Cannot call ${shown}: ${policy.privateRefusal ?? TENANT_REFUSAL}`;
}

/** A host checked against a policy: its addresses, all allowed, or why not. */
export type HostCheck = { ok: true; addresses: string[] } | { ok: false; problem: string; unresolved?: true };

/**
 * Resolves `host` (a name or an address literal) and checks every address it
 * has; one refused address refuses the host, so a name cannot mix an allowed
 * address with a forbidden one. `localhost` stands for 127.0.0.1 and ::1.
 */
export async function checkHost(hostname: string, policy: AddressPolicy): Promise<HostCheck> {
  const host = hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  if (METADATA_HOSTS.has(host)) {
    return { ok: false, problem: `Cannot call ${host}: cloud metadata services are always refused` };
  }
  let addresses: string[];
  if (host === "localhost" || host.endsWith(".localhost")) {
    addresses = ["127.0.0.1", "::1"];
  } else if (classifyAddress(host)) {
    addresses = [host];
  } else if (policy.resolve === false) {
    return { ok: true, addresses: [] };
  } else {
    try {
      addresses = await (policy.resolve ?? dnsResolver)(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      return { ok: false, problem: `Cannot call ${host}: the name does not resolve to any address`, unresolved: true };
    }
  }
  for (const addr of addresses) {
    const problem = addressRefusal(addr, addr === host ? host : `${host} (${addr})`, policy);
    if (problem) return { ok: false, problem };
  }
  return { ok: true, addresses };
}

/**
 * Why the URL must not be called, or null when it may. Resolves the host and
 * checks every address it has.
 */
export async function urlProblem(url: string, policy: AddressPolicy): Promise<string | null> {
  const u = parseCallableUrl(url);
  if (typeof u === "string") return u;
  const check = await checkHost(u.hostname, policy);
  return check.ok ? null : check.problem;
}

/** The URL when it is an absolute http(s) URL, else why not. */
export function parseCallableUrl(url: string): URL | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "Cannot call the URL: it is not an absolute URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `Cannot call the URL: only http and https are allowed, not ${u.protocol.replace(":", "")}`;
  }
  return u;
}
