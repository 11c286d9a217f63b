/**
 * The one message catalogue: every area's messages merged. An area adds one
 * import and one entry in AREAS; its keys start with the area's name.
 */
import type { AreaMessages } from "../define.ts";
import { common } from "./common.ts";
import { overview } from "./overview.ts";
import { events } from "./events.ts";
import { members } from "./members.ts";
import { tokens } from "./tokens.ts";
import { audit } from "./audit.ts";
import { deadLetters } from "./dead_letters.ts";
import { settings } from "./settings.ts";
import { connectors } from "./connectors.ts";
import { notify } from "./notify.ts";
import { executions } from "./executions.ts";
import { scheduler } from "./scheduler.ts";
import { onec } from "./onec.ts";
import { enrichment } from "./enrichment.ts";
import { docs } from "./docs.ts";

const AREAS = [
  common,
  overview,
  events,
  members,
  tokens,
  audit,
  deadLetters,
  settings,
  connectors,
  executions,
  scheduler,
  onec,
  enrichment,
  notify,
  docs,
] as const;

type KeysOf<A> = A extends AreaMessages<infer K> ? K : never;
export type MessageKey = KeysOf<(typeof AREAS)[number]>;

function merge(locale: "ru" | "en"): Record<MessageKey, string> {
  const out: Record<string, string> = {};
  for (const area of AREAS) {
    for (const [key, text] of Object.entries(area[locale])) {
      if (key in out) throw new Error(`i18n: the message key ${key} is declared twice`);
      out[key] = text;
    }
  }
  return out as Record<MessageKey, string>;
}

export const MESSAGES = { ru: merge("ru"), en: merge("en") } as const;
