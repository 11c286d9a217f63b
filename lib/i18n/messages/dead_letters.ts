/** The dead letters page (and the re-drive buttons on area pages). */
import { defineMessages } from "../define.ts";

export const deadLetters = defineMessages({
  ru: {
    "dead.title": "Недоставленные",
    "dead.lead":
      "Сообщения, которые не удалось обработать окончательно: неверные, с неустранимой ошибкой или исчерпавшие повторы. «Повторить» снова ставит сообщение в очередь со свежим счётчиком попыток.",
    "dead.filter.kind": "Вид сообщения",
    "dead.filter.placeholder": "например task.process",
    "dead.col.failed": "Когда",
    "dead.col.kind": "Вид",
    "dead.col.reason": "Причина",
    "dead.col.attempts": "Попыток",
    "dead.col.actions": "Действия",
    "dead.redrive": "Повторить",
    "dead.redriven": "Отправлено в очередь повторно",
    "dead.discard": "Удалить",
    "dead.discard.confirm": "Удалить это сообщение навсегда?",
    "dead.discarded": "Удалено",
    "dead.empty": "Недоставленных сообщений нет.",
    "dead.count": "{count, plural, one {# сообщение} few {# сообщения} many {# сообщений} other {# сообщения}}",
  },
  en: {
    "dead.title": "Dead letters",
    "dead.lead":
      "Messages that failed for good: invalid messages, terminal errors, and those that used up their retries. Retry puts a message back on the queue with a fresh attempt count.",
    "dead.filter.kind": "Message kind",
    "dead.filter.placeholder": "e.g. task.process",
    "dead.col.failed": "Failed",
    "dead.col.kind": "Kind",
    "dead.col.reason": "Reason",
    "dead.col.attempts": "Attempts",
    "dead.col.actions": "Actions",
    "dead.redrive": "Retry",
    "dead.redriven": "Put back on the queue",
    "dead.discard": "Discard",
    "dead.discard.confirm": "Discard this message for good?",
    "dead.discarded": "Discarded",
    "dead.empty": "No dead letters.",
    "dead.count": "{count, plural, one {# message} other {# messages}}",
  },
});
