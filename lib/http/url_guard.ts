/**
 * The guard in front of every HTTP action: a schedule must not become a way to
 * reach cloud metadata services or, unless the organization allows it, the
 * hub's own private network (SSRF). The host is resolved and every address is
 * checked, so a DNS name that points at a forbidden address is refused too.
 *
 * Always refused: link-local 169.254.0.0/16 and fe80::/10, the metadata
 * addresses 100.100.100.200 and fd00:ec2::254, metadata host names, 0.0.0.0/8,
 * ::, multicast and reserved ranges. Refused unless the organization setting
 * `general.allowPrivateNetworks` is on: 10/8, 172.16/12, 192.168/16, 127/8,
 * 100.64/10, ::1, fc00::/7 and `localhost`.
 *
 * Known limit: the name is resolved again by `fetch`, so a DNS server that
 * answers differently within seconds (rebinding) is not fully excluded;
 * redirects are not followed by the HTTP action, so they cannot bypass it.
 */

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

/** Four octets, or null when `s` is not a dotted IPv4 address. */
export function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Eight 16-bit groups, or null when `s` is not an IPv6 address (zone ids are dropped). */
export function parseIPv6(input: string): number[] | null {
  let s = input.replace(/^\[|\]$/g, "").split("%")[0].toLowerCase();
  if (!s.includes(":")) return null;
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = s.lastIndexOf(":");
  let v4: number[] | null = null;
  if (s.slice(lastColon + 1).includes(".")) {
    v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const split = (h: string) => (h === "" ? [] : h.split(":"));
  const head = split(halves[0]);
  const rest = halves.length === 2 ? split(halves[1]) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const groups = [
    ...head.map((g) => parseInt(g, 16)),
    ...Array<number>(8 - known).fill(0),
    ...rest.map((g) => parseInt(g, 16)),
  ];
  if (v4) {
    groups[6] = (v4[0] << 8) | v4[1];
    groups[7] = (v4[2] << 8) | v4[3];
  }
  return groups;
}

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

/** The system resolver: A and AAAA records through Deno.resolveDns. */
export const dnsResolver: Resolver = async (host) => {
  const lookups = await Promise.allSettled([Deno.resolveDns(host, "A"), Deno.resolveDns(host, "AAAA")]);
  return lookups.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
};

export interface GuardOptions {
  allowPrivate: boolean;
  /** The resolver; `false` checks only what the URL says (literal addresses, metadata names), for save-time checks. */
  resolve?: Resolver | false;
}

/**
 * Why the URL must not be called, or null when it may. Resolves the host and
 * checks every address it has.
 */
export async function urlProblem(url: string, { allowPrivate, resolve = dnsResolver }: GuardOptions): Promise<
  string | null
> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "Cannot call the URL: it is not an absolute URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `Cannot call the URL: only http and https are allowed, not ${u.protocol.replace(":", "")}`;
  }
  const host = u.hostname.replace(/\.$/, "").toLowerCase();
  const privateHint = "the organization does not allow private networks (setting general.allowPrivateNetworks)";
  if (METADATA_HOSTS.has(host)) return `Cannot call ${host}: cloud metadata services are always refused`;
  if (host === "localhost" || host.endsWith(".localhost")) {
    return allowPrivate ? null : `Cannot call ${host}: ${privateHint}`;
  }
  const literal = classifyAddress(host);
  let addresses: string[];
  if (literal) {
    addresses = [host.replace(/^\[|\]$/g, "")];
  } else if (resolve === false) {
    return null;
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) return `Cannot call ${host}: the name does not resolve to any address`;
  }
  for (const addr of addresses) {
    const kind = classifyAddress(addr) ?? "forbidden";
    const shown = addr === host ? host : `${host} (${addr})`;
    if (kind === "forbidden") {
      return `Cannot call ${shown}: link-local, metadata and reserved addresses are always refused`;
    }
    if (kind === "private" && !allowPrivate) return `Cannot call ${shown}: ${privateHint}`;
  }
  return null;
}
