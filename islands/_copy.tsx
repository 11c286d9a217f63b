/** A button that copies a value to the clipboard and says so. */
import { useState } from "preact/hooks";

export function CopyButton({ value, copy, copied }: { value: string; copy: string; copied: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary outline compact"
      data-testid="copy-button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          // No clipboard permission (plain http): select the text so Ctrl+C copies it.
          const code = document.querySelector('[data-testid="api-form-result"], [data-testid="token-value"]');
          if (code) getSelection()?.selectAllChildren(code);
        }
        setDone(true);
      }}
    >
      {done ? copied : copy}
    </button>
  );
}
