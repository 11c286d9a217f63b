import assert from "node:assert/strict";
import { requestText } from "../../lib/http/request.ts";
import { OPERATOR_POLICY as policy } from "../../lib/http/url_guard.ts";

/** A fetch answering with `chunks` as a stream; `state.cancelled` tells whether the reader gave up early. */
function streamingFetch(chunks: string[]) {
  const state = { cancelled: false, pulled: 0 };
  const enc = new TextEncoder();
  const fetch = () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (state.pulled >= chunks.length) return controller.close();
            controller.enqueue(enc.encode(chunks[state.pulled++]));
          },
          cancel() {
            state.cancelled = true;
          },
        }),
      ),
    );
  return { fetch, state };
}

Deno.test("requestText with maxBytes stops reading at the cap, cancels the body and reports truncated", async () => {
  const { fetch, state } = streamingFetch(["abc", "деф", "x".repeat(1000), "never read"]);
  // 3 + 6 bytes; the cap of 8 falls inside "ф", which is dropped rather than mangled.
  const raw = await requestText("http://203.0.113.7/", { service: "T", policy, method: "GET", fetch, maxBytes: 8 });
  assert.equal(raw.text, "abcде");
  assert.equal(raw.truncated, true);
  assert.ok(state.cancelled);
  assert.ok(state.pulled < 4);
});

Deno.test("requestText with maxBytes returns a body that fits whole, without truncated", async () => {
  const { fetch, state } = streamingFetch(["abc", "деф"]);
  const raw = await requestText("http://203.0.113.7/", { service: "T", policy, method: "GET", fetch, maxBytes: 9 });
  assert.equal(raw.text, "abcдеф");
  assert.equal(raw.truncated, undefined);
  assert.equal(state.cancelled, false);
});

Deno.test("requestText without maxBytes reads the whole body", async () => {
  const { fetch } = streamingFetch(["a".repeat(100_000), "b".repeat(100_000)]);
  const raw = await requestText("http://203.0.113.7/", { service: "T", policy, method: "GET", fetch });
  assert.equal(raw.text.length, 200_000);
  assert.equal(raw.truncated, undefined);
});
