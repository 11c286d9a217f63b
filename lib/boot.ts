/**
 * Opening the hub for a process: where KV lives, where the secret key comes
 * from, and the first-start bootstrap. Used by main.ts and by the tests;
 * capabilities register on the result (lib/capabilities.ts).
 */
import { type Config, ConfigError } from "./config.ts";
import { type CoreHub, createHub } from "./hub.ts";
import { loadOrCreateDevKey } from "./crypto/secret_box.ts";
import { bootstrap, type BootstrapResult } from "./accounts/bootstrap.ts";
import { createLogger, type Logger } from "./log.ts";
import type { FetchFn } from "./http/request.ts";
import type { Clock } from "./clock.ts";

export interface OpenHubOptions {
  log?: Logger;
  fetch?: FetchFn;
  clock?: Clock;
}

/** Opens KV, resolves the secret key, builds the hub and runs the first-start bootstrap. */
export async function openHub(
  config: Config,
  opts: OpenHubOptions = {},
): Promise<{ hub: CoreHub; boot: BootstrapResult }> {
  const log = opts.log ?? createLogger({ level: config.SHLYUZ_LOG_LEVEL });
  const onDeploy = Boolean(config.DENO_DEPLOYMENT_ID);
  let kv: Deno.Kv;
  if (config.SHLYUZ_KV_PATH) {
    kv = await Deno.openKv(config.SHLYUZ_KV_PATH);
  } else if (onDeploy) {
    kv = await Deno.openKv();
  } else {
    await Deno.mkdir(config.SHLYUZ_DATA_DIR, { recursive: true });
    kv = await Deno.openKv(`${config.SHLYUZ_DATA_DIR}/shlyuz.kv`);
  }
  let secretKey = config.SHLYUZ_SECRET_KEY;
  if (!secretKey) {
    if (onDeploy) {
      kv.close();
      throw new ConfigError(
        "Invalid configuration: SHLYUZ_SECRET_KEY: required on Deno Deploy (openssl rand -base64 32)",
      );
    }
    const dev = await loadOrCreateDevKey(config.SHLYUZ_DATA_DIR);
    secretKey = dev.key;
    log.warn(
      dev.created
        ? `SHLYUZ_SECRET_KEY is not set: generated a development key into ${config.SHLYUZ_DATA_DIR}/secret.key — set SHLYUZ_SECRET_KEY in production`
        : `SHLYUZ_SECRET_KEY is not set: using the development key in ${config.SHLYUZ_DATA_DIR}/secret.key`,
    );
  }
  const hub = await createHub(config, { kv, secretKey, log, fetch: opts.fetch, clock: opts.clock });
  const boot = await bootstrap(kv, config, log.child("bootstrap"));
  return { hub, boot };
}
