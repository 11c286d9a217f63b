/**
 * Issue 9: lib/ throws domain errors and knows nothing of HTTP; one function
 * in routes/ turns every error into the API's status, code and body; the
 * "Invalid request: field: message" text is built in one place.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TerminalJobError,
  UpstreamApiError,
  UpstreamHttpError,
  ValidationError,
} from "../../lib/errors.ts";
import { errorBody, HttpError, toHttpError } from "../../routes/errors.ts";
import { startTestHub } from "../helpers/hub.ts";

Deno.test("toHttpError() gives every domain error its status, code and details", () => {
  const cases: Array<[unknown, number, string, unknown]> = [
    [new NotFoundError("schedule"), 404, "not_found", undefined],
    [new ConflictError("Cannot add member: a@b.ru is already a member"), 409, "conflict", undefined],
    [new ConflictError("Cannot remove the last owner", { code: "last_owner" }), 409, "last_owner", undefined],
    [new ConflictError("dup", { details: { field: "email" } }), 409, "conflict", { field: "email" }],
    [new ForbiddenError(), 403, "forbidden", undefined],
    [new ValidationError([{ field: "cron", message: "5 fields" }]), 422, "validation_failed", [
      { field: "cron", message: "5 fields" },
    ]],
    [
      new UpstreamHttpError("DaData failed with HTTP 502", { service: "DaData", status: 502 }),
      503,
      "upstream_unavailable",
      undefined,
    ],
    [
      new UpstreamApiError("refused", { service: "Webhook", code: "address_refused" }),
      502,
      "upstream_rejected",
      undefined,
    ],
    [new HttpError(400, "invalid_form", "Cannot read the form"), 400, "invalid_form", undefined],
  ];
  for (const [error, status, code, details] of cases) {
    const http = toHttpError(error);
    assert.ok(http, String(error));
    assert.deepEqual([http.status, http.code, http.details], [status, code, details], String(error));
    assert.equal(http.message, (error as Error).message, "the domain's message is the API's message");
  }
  // Errors nobody classified are bugs: no status of their own, so the handler logs them and answers 500.
  assert.equal(toHttpError(new TypeError("x is undefined")), null);
  assert.equal(toHttpError(new TerminalJobError("job gave up")), null);
});

Deno.test("the validation message is built in one place: 'Invalid request: field: message; …' or the operation's own prefix", () => {
  const fields = [{ field: "cron", message: "5 fields" }, { field: "timezone", message: "unknown zone" }];
  assert.equal(new ValidationError(fields).message, "Invalid request: cron: 5 fields; timezone: unknown zone");
  assert.equal(
    new ValidationError(fields, { prefix: "Cannot save schedule" }).message,
    "Cannot save schedule: cron: 5 fields; timezone: unknown zone",
  );
  const zod = z.object({ n: z.number() }).strict().safeParse({ n: "1", extra: 1 });
  const http = toHttpError(zod.error)!;
  assert.equal(http.status, 422);
  assert.equal(
    http.message,
    "Invalid request: n: Invalid input: expected number, received string; extra: is not a known field",
  );
  assert.deepEqual(errorBody("not_found", "Cannot find row"), {
    error: { code: "not_found", message: "Cannot find row" },
  });
});

/** Every .ts/.tsx file under `dir`, with its text. */
async function* sources(dir: string): AsyncGenerator<[string, string]> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (/\.tsx?$/.test(e.name)) yield [path, await Deno.readTextFile(path)];
  }
}

Deno.test("lib/ throws no HTTP errors, imports no Hono, and the error body and 'Invalid request' text have one author each", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const offences: string[] = [];
  let files = 0;
  for await (const [path, text] of sources(`${root}lib`)) {
    files++;
    const rel = path.slice(root.length);
    if (/from "hono|from "@hono\//.test(text)) offences.push(`${rel} imports Hono`);
    if (/(?<!Upstream)HttpError\b|HTTPException|httpErrors/.test(text)) offences.push(`${rel} uses an HTTP error`);
    if (text.includes("Invalid request:") && rel !== "lib/validation.ts") {
      offences.push(`${rel} writes "Invalid request:"`);
    }
  }
  for await (const [path, text] of sources(`${root}routes`)) {
    files++;
    const rel = path.slice(root.length);
    if (text.includes("Invalid request:")) offences.push(`${rel} writes "Invalid request:" itself`);
    if (/\{\s*error:\s*\{\s*code\b/.test(text) && rel !== "routes/errors.ts") {
      offences.push(`${rel} builds the error body`);
    }
  }
  assert.ok(files > 100, `looked at ${files} files`);
  assert.deepEqual(offences, []);
});

Deno.test("an upstream refusal reaching the error handler answers 502 in the error shape, not a bare 500", async () => {
  const t = await startTestHub();
  try {
    // Saved while the organization allowed private networks, then the allowance was taken back:
    // the refresh (which calls Bitrix24 inside the request) is refused by the address guard.
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: true });
    const put = await t.api("/api/v1/onec/settings", {
      method: "PUT",
      json: { webhookUrl: "http://127.0.0.1:9/rest/1/code/" },
    });
    assert.equal(put.status, 200, await put.text());
    await t.hub.settings.write(t.org, "general", { allowPrivateNetworks: false });
    const res = await t.api("/api/v1/onec/cache/refresh", { method: "POST", json: {} });
    const body = await res.json();
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(body.error.code, "upstream_rejected");
    assert.match(body.error.message, /private/i);
  } finally {
    await t.close();
  }
});

Deno.test("an area the organization has not configured answers 409 not_configured, not 500 (found by the auth matrix)", async () => {
  const t = await startTestHub();
  try {
    const res = await t.api("/api/v1/onec/load");
    const body = await res.json();
    assert.equal(res.status, 409, JSON.stringify(body));
    assert.equal(body.error.code, "not_configured");
    assert.match(body.error.message, /Bitrix24 is not configured for this organization/);
  } finally {
    await t.close();
  }
});
