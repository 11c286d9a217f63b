/** The audit log: who changed what, per organization, newest first. */
import { newId } from "../ids.ts";
import { fromCursor } from "../kv/cursor.ts";

export interface AuditEntry {
  id: string;
  org: string;
  at: string;
  /** "user:<id>", "token:<id>" or "system". */
  actor: string;
  actorLabel: string;
  action: string;
  target?: string;
  details?: Record<string, unknown>;
}

export interface Actor {
  id: string;
  label: string;
}

export const SYSTEM_ACTOR: Actor = { id: "system", label: "system" };
const RETENTION = 365 * 24 * 3600_000;

/** Adds an audit entry to an atomic operation, so it commits with the change it describes. */
export function auditInto(
  op: Deno.AtomicOperation,
  org: string,
  actor: Actor,
  action: string,
  { target, details, now = Date.now() }: { target?: string; details?: Record<string, unknown>; now?: number } = {},
): AuditEntry {
  const entry: AuditEntry = {
    id: newId(now),
    org,
    at: new Date(now).toISOString(),
    actor: actor.id,
    actorLabel: actor.label,
    action,
    target,
    details,
  };
  op.set(["audit", org, entry.id], entry, { expireIn: RETENTION });
  return entry;
}

/** Records one audit entry on its own. */
export async function audit(
  kv: Deno.Kv,
  org: string,
  actor: Actor,
  action: string,
  opts: { target?: string; details?: Record<string, unknown>; now?: number } = {},
): Promise<AuditEntry> {
  const op = kv.atomic();
  const entry = auditInto(op, org, actor, action, opts);
  await op.commit();
  return entry;
}

/** Audit entries, newest first, with a cursor for the next page. */
export async function listAudit(
  kv: Deno.Kv,
  org: string,
  { limit = 50, cursor }: { limit?: number; cursor?: string } = {},
): Promise<{ items: AuditEntry[]; cursor?: string }> {
  const iter = kv.list<AuditEntry>({ prefix: ["audit", org] }, { reverse: true, limit, cursor });
  const items: AuditEntry[] = [];
  for await (const e of fromCursor(iter, cursor)) items.push(e.value);
  return { items, cursor: items.length === limit ? iter.cursor : undefined };
}
