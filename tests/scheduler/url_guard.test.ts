import assert from "node:assert/strict";
import { classifyAddress, parseIPv6, urlProblem } from "../../lib/http/url_guard.ts";

const noDns = () => Promise.reject(new Error("no DNS in this test"));

Deno.test("classifyAddress() sorts addresses into public, private and forbidden", () => {
  const cases: Array<[string, string]> = [
    ["8.8.8.8", "public"],
    ["169.254.169.254", "forbidden"],
    ["100.100.100.200", "forbidden"],
    ["0.0.0.0", "forbidden"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["127.0.0.1", "private"],
    ["100.64.0.1", "private"],
    ["::1", "private"],
    ["::", "forbidden"],
    ["fe80::1", "forbidden"],
    ["febf::1", "forbidden"],
    ["fd00:ec2::254", "forbidden"],
    ["fd12:3456::1", "private"],
    ["fc00::1", "private"],
    ["::ffff:169.254.169.254", "forbidden"],
    ["::ffff:127.0.0.1", "private"],
    ["::ffff:7f00:1", "private"],
    ["64:ff9b::a9fe:a9fe", "forbidden"],
    ["2a00:1450:4010:c05::8a", "public"],
    ["::127.0.0.1", "forbidden"],
    ["::ffff:0:127.0.0.1", "forbidden"],
    ["64:ff9b:1::a9fe:a9fe", "forbidden"],
    ["fec0::1", "forbidden"],
  ];
  for (const [ip, want] of cases) assert.equal(classifyAddress(ip), want, ip);
  assert.equal(classifyAddress("example.com"), null);
});

Deno.test("parseIPv6() expands :: and embedded IPv4", () => {
  assert.deepEqual(parseIPv6("fd00:ec2::254"), [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]);
  assert.deepEqual(parseIPv6("[::ffff:1.2.3.4]"), [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
  assert.equal(parseIPv6("1::2::3"), null);
  assert.equal(parseIPv6("1.2.3.4"), null);
});

Deno.test("urlProblem() always refuses link-local and metadata targets", async () => {
  for (
    const url of ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://metadata.google.internal/"]
  ) {
    const problem = await urlProblem(url, { allowPrivate: true, resolve: noDns });
    assert.match(problem ?? "", /always refused/, url);
  }
  assert.equal(
    await urlProblem("http://100.100.100.200/", { allowPrivate: true, resolve: noDns }),
    "Cannot call 100.100.100.200: link-local, metadata and reserved addresses are always refused",
  );
});

Deno.test("urlProblem() allows private networks only when the organization says so", async () => {
  const refused = await urlProblem("http://127.0.0.1:8080/x", { allowPrivate: false, resolve: noDns });
  assert.equal(
    refused,
    "Cannot call 127.0.0.1: the organization does not allow private networks (setting general.allowPrivateNetworks)",
  );
  assert.equal(await urlProblem("http://127.0.0.1:8080/x", { allowPrivate: true, resolve: noDns }), null);
  assert.match(await urlProblem("http://localhost/", { allowPrivate: false, resolve: noDns }) ?? "", /private/);
  assert.match(await urlProblem("http://[::1]/", { allowPrivate: false, resolve: noDns }) ?? "", /private/);
});

Deno.test("urlProblem() refuses a DNS name when any of its addresses is forbidden", async () => {
  const resolve = (host: string) =>
    Promise.resolve(host === "sneaky.example" ? ["93.184.216.34", "169.254.169.254"] : ["93.184.216.34"]);
  assert.equal(
    await urlProblem("https://sneaky.example/hook", { allowPrivate: true, resolve }),
    "Cannot call sneaky.example (169.254.169.254): link-local, metadata and reserved addresses are always refused",
  );
  assert.equal(await urlProblem("https://fine.example/hook", { allowPrivate: false, resolve }), null);
  const internal = (_: string) => Promise.resolve(["10.0.0.5"]);
  assert.match(
    await urlProblem("https://intranet.example/", { allowPrivate: false, resolve: internal }) ?? "",
    /private/,
  );
  assert.equal(
    await urlProblem("https://nowhere.example/", { allowPrivate: true, resolve: () => Promise.resolve([]) }),
    "Cannot call nowhere.example: the name does not resolve to any address",
  );
});

Deno.test("urlProblem() refuses schemes other than http(s)", async () => {
  assert.equal(
    await urlProblem("ftp://example.com/file", { allowPrivate: true, resolve: noDns }),
    "Cannot call the URL: only http and https are allowed, not ftp",
  );
});
