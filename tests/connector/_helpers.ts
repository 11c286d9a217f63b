/** Shared helpers of the connector tests: a raw WebSocket client and a connector created through the API. */
import type { TestHub } from "../helpers/hub.ts";
import { proveChallenge } from "../../lib/connector/protocol.ts";

export interface Creds {
  connectorId: string;
  token: string;
  key: string;
}

export async function createConnector(t: TestHub, name = "Цех 1", extra: Record<string, unknown> = {}): Promise<Creds> {
  const res = await t.api("/api/v1/connectors", { method: "POST", json: { name, ...extra } });
  if (res.status !== 201) throw new Error(`create connector: ${res.status} ${await res.text()}`);
  return (await res.json()).credentials;
}

/** A raw protocol client: every frame it receives is queued for `next()`; `closed` resolves with the close. */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: Array<Record<string, unknown>> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  constructor(url: string) {
    this.ws = new WebSocket(url.replace(/^http/, "ws") + "/connectors/ws");
    this.opened = new Promise((resolve) => this.ws.addEventListener("open", () => resolve(), { once: true }));
    this.closed = new Promise((resolve) =>
      this.ws.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        for (const w of this.#waiters.splice(0)) w();
      }, { once: true })
    );
    this.ws.onmessage = (m) => {
      this.frames.push(JSON.parse(m.data));
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  /** The next frame of type `t` (skipping others, e.g. pings), or null when the socket closes first. */
  async next(t?: string): Promise<Record<string, unknown> | null> {
    for (;;) {
      const i = this.frames.findIndex((f) => !t || f.t === t);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.ws.readyState === WebSocket.CLOSED) return null;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Answers the challenge; `overrides` change fields of the auth frame. */
  async auth(creds: Creds, overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const challenge = await this.next("challenge");
    if (!challenge) throw new Error("no challenge");
    const nonce = challenge.nonce as string;
    const frame = {
      t: "auth",
      v: 1,
      connectorId: creds.connectorId,
      token: creds.token,
      nonce,
      mac: proveChallenge(creds.key, nonce),
      agent: { version: "test-1" },
      ...overrides,
    };
    this.send(frame);
    return frame;
  }

  async close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000, "test done");
    return await this.closed;
  }
}

/** A clock that runs with real time and can be pushed forward. */
export function movableClock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    advance(ms: number) {
      offset += ms;
    },
  };
}
