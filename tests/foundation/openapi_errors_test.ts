import assert from "node:assert/strict";
import { startTestHub } from "../helpers/hub.ts";
import { ERROR_CODES, httpErrors, toHttpError } from "../../routes/errors.ts";
import { ConflictError, ForbiddenError, NotFoundError, UpstreamHttpError, ValidationError } from "../../lib/errors.ts";

interface JsonContent {
  schema?: { $ref?: string };
  example?: { error?: { code?: string } };
  examples?: Record<string, { value?: { error?: { code?: string } } }>;
}

Deno.test("every error response in /openapi.json shows an example whose code belongs to its status", async () => {
  const t = await startTestHub({ http: false, listen: false });
  try {
    const res = await t.app.request("/openapi.json");
    assert.equal(res.status, 200);
    const doc = await res.json();
    const wrong: string[] = [];
    const seen = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(operations)) {
        const responses = (op as { responses?: Record<string, { content?: Record<string, JsonContent> }> })
          .responses ?? {};
        for (const [status, response] of Object.entries(responses)) {
          const json = response.content?.["application/json"];
          if (Number(status) < 400 || !json) continue;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          seen.add(status);
          const examples = json.example !== undefined
            ? [json.example]
            : Object.values(json.examples ?? {}).map((e) => e.value);
          if (examples.length === 0) wrong.push(`${where}: no example`);
          for (const example of examples) {
            const code = example?.error?.code;
            const allowed = ERROR_CODES[Number(status)] ?? [];
            if (!code || !allowed.includes(code)) {
              wrong.push(`${where}: example code ${code} (expected one of ${allowed.join(", ") || "—"})`);
            }
          }
          if (json.schema?.$ref !== "#/components/schemas/Error") wrong.push(`${where}: not the Error schema`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    // The statuses the issue named are all documented somewhere.
    for (const status of ["400", "401", "403", "404", "409", "422", "502", "503"]) {
      assert.ok(seen.has(status), `no route documents a ${status}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("ERROR_CODES lists the codes the error handler really gives each status", () => {
  const cases = [
    new NotFoundError("schedule"),
    new ConflictError("Cannot save: changed meanwhile"),
    new ConflictError("Cannot remove the last owner", { code: "last_owner" }),
    new ForbiddenError(),
    new ValidationError([{ field: "name", message: "Required" }]),
    new UpstreamHttpError("DaData answered 403", { service: "dadata", status: 403 }),
    new UpstreamHttpError("DaData answered 503", { service: "dadata", status: 503 }),
    httpErrors.unauthorized(),
    httpErrors.tooMany("slow down"),
    httpErrors.unavailable("the queue is full"),
  ];
  for (const error of cases) {
    const http = toHttpError(error)!;
    assert.ok(ERROR_CODES[http.status]?.includes(http.code), `${error.name} → ${http.status} ${http.code}`);
  }
});
