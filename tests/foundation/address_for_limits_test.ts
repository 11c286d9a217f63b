/** addressForLimits: what per-address limits count a client under (the connector socket caps and throttle). */
import assert from "node:assert/strict";
import { addressForLimits } from "../../lib/http/ip.ts";

Deno.test("addressForLimits: IPv4 as it is, IPv4-mapped IPv6 as its IPv4, IPv6 by its /64, anything else unchanged", () => {
  const cases: [string, string][] = [
    ["203.0.113.5", "203.0.113.5"],
    ["::ffff:203.0.113.5", "203.0.113.5"],
    ["::FFFF:cb00:7105", "203.0.113.5"],
    ["2001:db8:1:2::5", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["[2001:db8:1:2::5]", "2001:db8:1:2::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["2001:db8::", "2001:db8:0:0::/64"],
    ["64:ff9b::203.0.113.5", "64:ff9b:0:0::/64"],
    ["unknown", "unknown"],
    ["2001:db8::1::2", "2001:db8::1::2"],
  ];
  for (const [address, grouped] of cases) assert.equal(addressForLimits(address), grouped, address);
  assert.equal(addressForLimits(addressForLimits("2001:db8:1:2::5")), "2001:db8:1:2::/64", "a group stays itself");
});
