/** Headless Debian Chromium driven by playwright-core, for page tests. */
import { type Browser, chromium } from "playwright-core";
import { serviceOrSkip } from "./services.ts";

export const CHROMIUM = Deno.env.get("SHLYUZ_CHROMIUM") ?? "/usr/bin/chromium";

/** Launches Chromium, or returns null (skip) when it is not installed and not required. */
export async function launchBrowser(): Promise<Browser | null> {
  const present = await serviceOrSkip("Chromium", () => Deno.stat(CHROMIUM));
  if (!present) return null;
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
