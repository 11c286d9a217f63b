/**
 * CIDR ranges (`10.0.0.0/8`, `fd00::/8`) for the operator's private-network
 * ceiling (`SHLYUZ_ALLOW_PRIVATE_NETWORKS`). An IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`) is matched as the IPv4 address inside it.
 */
import { parseIPv4, parseIPv6 } from "./ip.ts";

/** One range: an address family, the network as a number and the prefix length. */
export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
  /** As the operator wrote it, for messages. */
  text: string;
}

function toNumber(parts: number[], bitsEach: number): bigint {
  return parts.reduce((n, p) => (n << BigInt(bitsEach)) | BigInt(p), 0n);
}

/** The address as a family and a number; IPv4-mapped IPv6 counts as IPv4. Null when `ip` is not an address. */
function addressNumber(ip: string): { family: 4 | 6; value: bigint } | null {
  const v4 = parseIPv4(ip);
  if (v4) return { family: 4, value: toNumber(v4, 8) };
  const v6 = parseIPv6(ip);
  if (!v6) return null;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return { family: 4, value: (BigInt(v6[6]) << 16n) | BigInt(v6[7]) };
  }
  return { family: 6, value: toNumber(v6, 16) };
}

function mask(family: 4 | 6, prefix: number): bigint {
  const width = family === 4 ? 32 : 128;
  return ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
}

/**
 * Parses `a.b.c.d/n` or `v6::/n`; a bare address is a range of one. Host bits
 * below the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`). Null when the
 * text is not a range.
 */
export function parseCidr(text: string): Cidr | null {
  const [addr, bits, extra] = text.trim().split("/");
  if (extra !== undefined || !addr) return null;
  const parsed = parseIPv4(addr) ? { family: 4 as const, value: toNumber(parseIPv4(addr)!, 8) } : null;
  const v6 = parsed ? null : parseIPv6(addr);
  if (!parsed && !v6) return null;
  const family = parsed ? 4 : 6;
  const width = family === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? width : Number(bits);
  if (prefix > width) return null;
  const value = parsed ? parsed.value : toNumber(v6!, 16);
  return { family, network: value & mask(family, prefix), prefix, text: text.trim() };
}

/** True when the address `ip` lies inside one of `ranges`. */
export function inRanges(ip: string, ranges: readonly Cidr[]): boolean {
  const a = addressNumber(ip);
  if (!a) return false;
  return ranges.some((r) => r.family === a.family && (a.value & mask(r.family, r.prefix)) === r.network);
}
