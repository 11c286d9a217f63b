/**
 * KV records of the intake:
 * - `["onec_task", org, onecId]` — 1C id → Bitrix task (state "creating" is
 *   written before tasks.task.add, so a crash between add and the record is
 *   detected and reconciled instead of creating a second task);
 * - `["onec_lock", org, onecId]` — a short claim so concurrent requests for
 *   one 1C id run one after the other (the second one updates);
 * - `["onec_assigned", org, userId]` — when the intake last gave someone a task (tie-break);
 * - `["onec_log", org, ulid]` — the intake log (30 days).
 */
import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";

export interface TaskRecord {
  onecId: string;
  state: "creating" | "created";
  taskId?: number;
  title: string;
  responsibleId: number;
  responsibleName?: string;
  groupId: number;
  sectionName?: string;
  /** sha-256 of name + content of every file already attached. */
  files: string[];
  startedAt: number;
  createdAt?: number;
  updatedAt?: number;
}

export interface LogTask {
  onecId: string;
  title: string;
  calculation: string;
  op: "created" | "updated" | "failed" | "update_failed";
  taskId?: number;
  url?: string;
  responsible?: { id: number; name: string };
  section?: string;
  reason?: string;
  unassigned?: boolean;
  error?: string;
}

export interface LogEntry {
  id: string;
  at: string;
  requestId: string;
  /** `rejected`: the request did not validate (422) and nothing was sent to Bitrix24. */
  outcome: "ok" | "update_failed" | "failed" | "rejected";
  /** Why a rejected request was refused (the 422's message). */
  reason?: string;
  durationMs: number;
  bitrixCalls: number;
  tasks: LogTask[];
}

const LOG_TTL = 30 * 24 * 3600_000;
/** How long a per-1C-id claim lives if its holder dies (the request budget stays well below it). */
export const LOCK_TTL = 120_000;

export const taskKey = (org: string, onecId: string): Deno.KvKey => ["onec_task", org, onecId];

export async function getTaskRecord(kv: Deno.Kv, org: string, onecId: string): Promise<TaskRecord | null> {
  return (await kv.get<TaskRecord>(taskKey(org, onecId))).value;
}

export async function putTaskRecord(kv: Deno.Kv, org: string, rec: TaskRecord): Promise<void> {
  await kv.set(taskKey(org, rec.onecId), rec);
}

/** Records a created task and the assignment time of its responsible in one commit. */
export async function recordCreated(kv: Deno.Kv, org: string, rec: TaskRecord, at: number): Promise<void> {
  await kv.atomic()
    .set(taskKey(org, rec.onecId), rec)
    .set(["onec_assigned", org, rec.responsibleId], at)
    .commit();
}

/** User id → when the intake last assigned them a task. */
export async function lastAssigned(kv: Deno.Kv, org: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for await (const e of kv.list<number>({ prefix: ["onec_assigned", org] })) out.set(Number(e.key[2]), e.value);
  return out;
}

/**
 * Waits for and takes the claim of one 1C id. The claim expires by itself
 * (2 min) if this process dies. Returns the release function.
 */
export async function claim(
  kv: Deno.Kv,
  org: string,
  onecId: string,
  { clock, deadline }: { clock: Clock; deadline: number },
): Promise<() => Promise<void>> {
  const key: Deno.KvKey = ["onec_lock", org, onecId];
  const token = newId();
  for (let i = 0;; i++) {
    const res = await kv.atomic().check({ key, versionstamp: null }).set(key, token, { expireIn: LOCK_TTL }).commit();
    if (res.ok) {
      return async () => {
        const cur = await kv.get(key);
        if (cur.value === token) await kv.atomic().check(cur).delete(key).commit();
      };
    }
    if (clock.now() > deadline) {
      throw new Error(`Cannot process 1C task ${onecId}: another request for it is still running`);
    }
    await clock.sleep(Math.min(200, 20 + i * 10));
  }
}

export async function appendLog(kv: Deno.Kv, org: string, entry: Omit<LogEntry, "id">, now: number): Promise<LogEntry> {
  const full: LogEntry = { id: newId(now), ...entry, tasks: entry.tasks.slice(0, 100) };
  await kv.set(["onec_log", org, full.id], full, { expireIn: LOG_TTL });
  return full;
}

/** The newest log entries first. */
export async function readLog(kv: Deno.Kv, org: string, limit = 50): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of kv.list<LogEntry>({ prefix: ["onec_log", org] }, { reverse: true, limit })) out.push(e.value);
  return out;
}

/** Content hash of a file, to attach each file once however often 1C re-sends it. */
export async function fileHash(name: string, base64: string): Promise<string> {
  const data = new TextEncoder().encode(`${name}\n${base64}`);
  const d = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
