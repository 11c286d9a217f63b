/**
 * The socket twin of the guarded fetch: a host an organization chooses (an
 * IMAP or POP3 server) is resolved, every address is checked with the same
 * policy (lib/http/url_guard.ts), and the connection goes to the checked
 * address — never to a name resolved again later — with the TLS server name
 * kept, so certificates are still verified for the name. Clients that open
 * their own sockets (imapflow, node-pop3) get `{ address, servername }` and
 * connect there; `guardedConnect` opens a Deno socket itself.
 */
import { UpstreamApiError, UpstreamHttpError } from "../errors.ts";
import { type AddressPolicy, checkHost } from "./url_guard.ts";

export interface CheckedTarget {
  /** The checked IP address to connect to. */
  address: string;
  /** The name for TLS (SNI and certificate checks): the host as configured. */
  servername: string;
  port: number;
}

/**
 * Resolves and checks `host` for a connection. Throws UpstreamApiError
 * `address_refused` when the policy refuses it (not retryable) and
 * UpstreamHttpError when the name does not resolve (transient).
 *
 * @example
 * const t = await checkedTarget("imap.example.ru", 993, { policy, service: "IMAP" });
 * new ImapFlow({ host: t.address, servername: t.servername, port: t.port, secure: true, … });
 */
export async function checkedTarget(
  host: string,
  port: number,
  { policy, service }: { policy: AddressPolicy; service: string },
): Promise<CheckedTarget> {
  const check = await checkHost(host, policy);
  if (!check.ok) {
    if (check.unresolved) throw new UpstreamHttpError(check.problem, { service });
    throw new UpstreamApiError(policy.refusedAs ? `${policy.refusedAs}: ${check.problem}` : check.problem, {
      service,
      code: "address_refused",
    });
  }
  const name = host.replace(/^\[|\]$/g, "");
  // checkHost returns the literal itself for an address; prefer IPv4 for a name (the usual reachable one).
  const address = check.addresses.find((a) => a.includes(".")) ?? check.addresses[0] ?? name;
  return { address, servername: name, port };
}

/** Opens a TCP (or TLS) connection to the checked address of `host`. */
export async function guardedConnect(
  host: string,
  port: number,
  { policy, service, tls = false }: { policy: AddressPolicy; service: string; tls?: boolean },
): Promise<Deno.Conn> {
  const t = await checkedTarget(host, port, { policy, service });
  const conn = await Deno.connect({ hostname: t.address, port });
  if (!tls) return conn;
  return await Deno.startTls(conn, { hostname: t.servername });
}
