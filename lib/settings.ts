/**
 * Per-organization settings, one section per capability (`dadata`,
 * `bitrix`, …) under `["settings", org, section]`. Fields named as secret
 * are sealed with the SecretBox before they are written and opened on read,
 * so KV never holds them in the clear. Env values are the defaults that apply
 * until an organization sets its own.
 */
import type { z } from "zod";
import { SecretBox } from "./crypto/secret_box.ts";

export class SettingsStore {
  readonly #kv: Deno.Kv;
  readonly #box: SecretBox;

  constructor(kv: Deno.Kv, box: SecretBox) {
    this.#kv = kv;
    this.#box = box;
  }

  /** The stored section with secrets opened, or null when the organization has not set it. */
  async read(org: string, section: string): Promise<Record<string, unknown> | null> {
    const entry = await this.#kv.get<Record<string, unknown>>(["settings", org, section]);
    if (!entry.value) return null;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry.value)) {
      out[k] = SecretBox.isSealed(v) ? await this.#box.open(v, `${org}:${section}.${k}`) : v;
    }
    return out;
  }

  /** Reads a section merged over `defaults` and parsed with `schema`. */
  async get<S extends z.ZodType>(
    org: string,
    section: string,
    schema: S,
    defaults: Partial<z.input<S>> = {},
  ): Promise<z.infer<S>> {
    const stored = await this.read(org, section) ?? {};
    const merged: Record<string, unknown> = { ...defaults };
    for (const [k, v] of Object.entries(stored)) if (v !== undefined && v !== null && v !== "") merged[k] = v;
    return schema.parse(merged);
  }

  /**
   * Writes a section. `secretFields` are sealed; a secret field given as
   * undefined keeps its stored value, so forms need not echo secrets back.
   */
  async write(
    org: string,
    section: string,
    value: Record<string, unknown>,
    secretFields: readonly string[] = [],
  ): Promise<void> {
    const key = ["settings", org, section];
    const current = (await this.#kv.get<Record<string, unknown>>(key)).value ?? {};
    const next: Record<string, unknown> = { ...current };
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (secretFields.includes(k) && typeof v === "string" && v !== "") {
        next[k] = await this.#box.seal(v, `${org}:${section}.${k}`);
      } else if (v === null || v === "") {
        delete next[k];
      } else {
        next[k] = v;
      }
    }
    await this.#kv.set(key, next);
  }

  /** The section as stored, secrets replaced by `"••••"` (for pages and API answers). */
  async masked(org: string, section: string): Promise<Record<string, unknown>> {
    const entry = await this.#kv.get<Record<string, unknown>>(["settings", org, section]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry.value ?? {})) out[k] = SecretBox.isSealed(v) ? "••••" : v;
    return out;
  }
}
