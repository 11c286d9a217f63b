/** The re-drive button of a dead letter, shared by the dead-letters and enrichment pages. */
import { Island } from "./island.tsx";
import type { Translator } from "../../lib/i18n/mod.ts";

/** "Повторить" for a dead letter: re-drives it and says so in place (the dead-letters and enrichment pages). */
export function RedriveButton({ id, t }: { id: string; t: Translator["t"] }) {
  return (
    <Island
      name="api_action"
      props={{
        action: `/api/v1/dead-letters/${encodeURIComponent(id)}/redrive`,
        label: t("dead.redrive"),
        done: t("dead.redriven"),
        failed: t("common.failed"),
        after: "stay",
      }}
    />
  );
}
