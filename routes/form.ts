/**
 * Reading HTML form bodies. A body that claims to be a form but is not (a
 * broken multipart body, a missing boundary) is the client's mistake: 400.
 */
import type { Context } from "hono";
import type { AppEnv } from "./app_env.ts";
import { HttpError } from "./errors.ts";

/** The request's form fields, or a 400 `invalid_form` when the body cannot be parsed as the form it claims to be. */
export async function readForm(c: Context<AppEnv>): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody();
  } catch (error) {
    // Deno's form parser reports a malformed body as a TypeError; anything else is ours.
    if (!(error instanceof TypeError)) throw error;
    throw new HttpError(400, "invalid_form", "Cannot read the form: the body is not valid form data");
  }
}
