/**
 * A fake of YandexGPT's synchronous completion API, faithful to
 * /work/shared/reference/yandexgpt.md: `Authorization: Api-Key …` or
 * `Bearer …`, `modelUri` must start with `gpt://` or `ds://`, answers wrapped
 * in `result` with string token counts, the gRPC-gateway error shape, and a
 * 429 "gauge quota" when more than `maxConcurrent` generations run at once.
 * Faults are switchable at run time through `state.faults`.
 */
import { Hono } from "hono";
import { defaultFaults, type FaultSwitches, pickFault, serve, sleep } from "./_fault.ts";

export interface YandexGptFakeOptions {
  apiKey?: string;
  /** Concurrent generations before 429 (YandexGPT Lite: 10). 0 = unlimited. Default 0. */
  maxConcurrent?: number;
  port?: number;
  random?: () => number;
  faults?: Partial<FaultSwitches>;
  /** Builds the answer; default echoes the prompt. */
  answer?: (prompt: string, system: string | undefined) => string;
}

export interface YandexGptFakeState {
  calls: number;
  inFlight: number;
  /** Request bodies of answered calls. */
  requests: Array<Record<string, unknown>>;
  /** Headers of every call (to check which credentials reached the fake). */
  headers: Headers[];
  faults: FaultSwitches;
}

const grpcError = (status: number, grpcCode: number, httpStatus: string, message: string) =>
  Response.json({ error: { grpcCode, httpCode: status, message, httpStatus, details: [] } }, { status });

/** Starts the fake on 127.0.0.1. */
export function startYandexGptFake(
  {
    apiKey = "test-yandexgpt-key",
    maxConcurrent = 0,
    port = 0,
    random = Math.random,
    faults,
    answer = (p) => `Ответ на: ${p}`,
  }: YandexGptFakeOptions = {},
): Promise<{ url: string; state: YandexGptFakeState; close(): Promise<void> }> {
  const state: YandexGptFakeState = {
    calls: 0,
    inFlight: 0,
    requests: [],
    headers: [],
    faults: { ...defaultFaults(), ...faults },
  };
  const closing = new AbortController();
  const app = new Hono();
  app.post("/foundationModels/v1/completion", async (c) => {
    state.calls++;
    state.headers.push(new Headers(c.req.raw.headers));
    const auth = c.req.header("authorization") ?? "";
    if (!/^(Api-Key|Bearer) \S+/.test(auth)) {
      return grpcError(401, 16, "Unauthorized", "The token is invalid");
    }
    if (auth !== `Api-Key ${apiKey}` && auth !== `Bearer ${apiKey}`) {
      return grpcError(401, 16, "Unauthorized", "Unknown api key");
    }
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      return grpcError(400, 3, "Bad Request", "Invalid JSON in request body");
    }
    const uri = body?.modelUri;
    if (typeof uri !== "string" || !/^(gpt|ds):\/\/[^/]+\/.+/.test(uri)) {
      return grpcError(400, 3, "Bad Request", "Specified modelUri is invalid");
    }
    const messages = body.messages as Array<{ role: string; text: string }> | undefined;
    const user = messages?.findLast?.((m) => m.role === "user");
    if (!Array.isArray(messages) || !user || typeof user.text !== "string") {
      return grpcError(400, 3, "Bad Request", "messages must contain a user message with text");
    }
    if (maxConcurrent > 0 && state.inFlight >= maxConcurrent) {
      return grpcError(
        429,
        8,
        "Too Many Requests",
        `ai.textGenerationCompletionSessionsCount.count gauge quota limit exceed: allowed ${maxConcurrent} requests`,
      );
    }
    state.inFlight++;
    try {
      await sleep(state.faults.latencyMs, closing.signal);
      const fault = pickFault(state.faults, random);
      if (fault.kind === "hang") {
        await sleep(state.faults.hangMs, closing.signal);
        return grpcError(504, 4, "Gateway Timeout", "deadline exceeded");
      }
      if (fault.kind === "status") {
        return fault.status === 429
          ? grpcError(
            429,
            8,
            "Too Many Requests",
            "ai.textGenerationCompletionRequestsPerHour.rate rate quota limit exceed: allowed 100 requests",
          )
          : grpcError(fault.status, 13, "Internal Server Error", `simulated HTTP ${fault.status}`);
      }
      if (fault.kind === "malformed") return new Response('{"result": {"alternatives": [', { status: 200 });
      const system = messages.find((m) => m.role === "system")?.text;
      const text = answer(user.text, system);
      state.requests.push(body);
      const input = messages.reduce((n, m) => n + Math.ceil(String(m.text).length / 4), 0);
      const output = Math.ceil(text.length / 4);
      return c.json({
        result: {
          alternatives: [{ message: { role: "assistant", text }, status: "ALTERNATIVE_STATUS_FINAL" }],
          usage: {
            inputTextTokens: String(input),
            completionTokens: String(output),
            totalTokens: String(input + output),
          },
          modelVersion: "06.12.2023",
        },
      });
    } finally {
      state.inFlight--;
    }
  });
  const { url, server } = serve(app.fetch, port);
  return Promise.resolve({
    url,
    state,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  });
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 8102);
  const fake = await startYandexGptFake({ port, maxConcurrent: 10 });
  // deno-lint-ignore no-console
  console.log(`YandexGPT fake on ${fake.url} (Api-Key test-yandexgpt-key)`);
}
