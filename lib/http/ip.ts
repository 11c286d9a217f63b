/** Parsing IP address literals (IPv4 dotted quads, IPv6 in every written form). */

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

/**
 * The address a per-client limit counts under: IPv4 as it is (also when written IPv4-mapped,
 * `::ffff:a.b.c.d`, as a dual-stack socket reports it), IPv6 by its /64 (`2001:db8:1:2::/64`) — a host
 * is usually given a whole /64 and can pick any address in it, so counting each apart would let it rotate
 * past every per-address ceiling. Anything that is not an address literal is returned unchanged.
 *
 * @example
 * addressForLimits("::ffff:192.0.2.7"); // "192.0.2.7"
 * addressForLimits("2001:db8:1:2:aaaa::1"); // "2001:db8:1:2::/64"
 */
export function addressForLimits(address: string): string {
  const v4 = parseIPv4(address);
  if (v4) return v4.join(".");
  const g = parseIPv6(address);
  if (!g) return address;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join(".");
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(":")}::/64`;
}
