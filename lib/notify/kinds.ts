/** The notification capability's queue message kinds, shared by producers and jobs. */
import { z } from "zod";
import { defineKind, type KindMap } from "../queue/kind.ts";

/** `notify.send`: sends one delivery (text and target are in its record). */
export const sendKind = defineKind({
  kind: "notify.send",
  payload: z.object({ deliveryId: z.string().min(1).max(100) }),
  description: "Sends one notification (a delivery of the log) to Telegram or a webhook",
});

/** `notify.digest`: sends a rule's collected events as one message. */
export const digestKind = defineKind({
  kind: "notify.digest",
  payload: z.object({ ruleId: z.string().min(1).max(100), window: z.string().min(1).max(40) }),
  description: "Sends one digest of a rule (the events of a burst in one message)",
});

/** `mail.poll`: reads one mailbox once. */
export const mailPollKind = defineKind({
  kind: "mail.poll",
  payload: z.object({ mailboxId: z.string().min(1).max(100) }),
  description: "Reads one watched mailbox (IMAP or POP3) and routes its new mail",
});

export const notifyKinds = [sendKind, digestKind, mailPollKind] as const;
export type NotifyKinds = KindMap<typeof notifyKinds>;

export const SEND_KIND = sendKind.kind;
export const DIGEST_KIND = digestKind.kind;
export const POLL_KIND = mailPollKind.kind;
export type SendPayload = z.infer<typeof sendKind.payload>;
export type DigestPayload = z.infer<typeof digestKind.payload>;
