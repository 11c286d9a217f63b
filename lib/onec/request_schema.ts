/**
 * What 1C sends to `POST /` (and `/api/v1/onec/tasks`): one or more tasks,
 * each with a stable 1C id so that sending it again updates the Bitrix24 task
 * instead of creating a second one.
 */
import { z } from "zod";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** 10 MB of file ≈ 13.4 M base64 characters. */
const MAX_FILE_CHARS = 14_000_000;

/** C0 and C1 control characters, DEL and unpaired surrogates: Bitrix24 cannot store them meaningfully. */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;
/** The same, but line breaks and tabs are text (for the description). */
// deno-lint-ignore no-control-regex -- as above
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\p{Cs}/u;

/** The zod issue text for the first forbidden character of `v`, or null when there is none. */
function controlIssue(v: string, re: RegExp): string | null {
  const m = re.exec(v);
  if (!m) return null;
  const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `must not contain control characters (U+${code} at position ${m.index + 1})`;
}

/** Rejects control characters (and, unless `multiline`, line breaks and tabs too) naming the first one. */
export function plainText(multiline = false) {
  const re = multiline ? CONTROL_IN_TEXT : CONTROL;
  return (v: string, ctx: z.RefinementCtx) => {
    const message = controlIssue(v, re);
    if (message) ctx.addIssue({ code: "custom", message });
  };
}

export const personSchema = z.object({
  name: z.string().trim().min(1).max(200).superRefine(plainText()).describe("ФИО как в 1С"),
  email: z.string().trim().email().optional().describe("E-mail: по нему ищем пользователя Bitrix24"),
  bitrixUserId: z.coerce.number().int().positive().optional().describe("ID пользователя Bitrix24, если известен"),
});

export const fileSchema = z.object({
  name: z.string().trim().min(1).max(255).superRefine(plainText()),
  content: z.string().max(MAX_FILE_CHARS, "must be at most 10 MB").transform((s) =>
    s.replace(/^data:[^,]*;base64,/, "").replace(/\s+/g, "")
  ).refine((s) => s.length > 0 && s.length % 4 === 0 && BASE64.test(s), "must be base64 (without a data: prefix)"),
});

const PRIORITY: Record<string, "0" | "1" | "2"> = {
  "0": "0",
  "1": "1",
  "2": "2",
  low: "0",
  normal: "1",
  medium: "1",
  high: "2",
  "низкий": "0",
  "обычный": "1",
  "средний": "1",
  "высокий": "2",
};

export const prioritySchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const p = PRIORITY[String(v).trim().toLowerCase()];
  if (!p) {
    ctx.addIssue({ code: "custom", message: "must be low, normal, high (Низкий, Средний, Высокий) or 0, 1, 2" });
    return z.NEVER;
  }
  return p;
});

/**
 * Deadline: `2025-03-20` (the end of the working day, 18:00), `2025-03-20T15:00:00`,
 * `2025-03-20T15:00:00+03:00` or 1C's `20.03.2025 15:00:00`. Without an offset
 * the organization's time zone applies. Output: `YYYY-MM-DDTHH:MM:SS[±HH:MM]`.
 */
export const deadlineSchema = z.string().trim().transform((v, ctx) => {
  let m = v.match(/^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?)?$/);
  let parts: Array<string | undefined> | undefined;
  if (m) parts = [m[1], m[2], m[3], m[4], m[5], m[6], m[7]];
  m = v.match(/^(\d\d)\.(\d\d)\.(\d{4})(?:\s+(\d\d?):(\d\d)(?::(\d\d))?)?$/);
  if (m) parts = [m[3], m[2], m[1], m[4]?.padStart(2, "0"), m[5], m[6], undefined];
  if (!parts) {
    ctx.addIssue({
      code: "custom",
      message: "must be a date: 2025-03-20, 2025-03-20T18:00:00+03:00 or 20.03.2025 18:00",
    });
    return z.NEVER;
  }
  const [y, mo, d, h = "18", mi = "00", s = "00", off] = parts;
  const date = new Date(`${y}-${mo}-${d}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59) {
    ctx.addIssue({ code: "custom", message: "is not a real date" });
    return z.NEVER;
  }
  const offset = off === "Z" ? "+00:00" : off ? (off.includes(":") ? off : `${off.slice(0, 3)}:${off.slice(3)}`) : "";
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`;
});

export const onecTaskSchema = z.object({
  id: z.union([z.string(), z.number()]).transform((v) => String(v).trim())
    .pipe(z.string().min(1).max(100).superRefine(plainText()))
    .describe("Стабильный идентификатор задачи в 1С (GUID или номер документа и строки)"),
  calculation: z.string().trim().min(1).max(250).superRefine(plainText())
    .describe("Калькуляция: по ней выбирается участок производства"),
  title: z.string().trim().min(1).max(250).superRefine(plainText()),
  description: z.string().max(20_000).superRefine(plainText(true)).default(""),
  deadline: deadlineSchema.optional(),
  priority: prioritySchema.default("1"),
  author: personSchema,
  observers: z.array(personSchema).max(20).default([]),
  files: z.array(fileSchema).max(10).default([]),
});

export const onecRequestSchema = z.object({
  tasks: z.array(onecTaskSchema).min(1).max(50),
}).superRefine((req, ctx) => {
  const seen = new Set<string>();
  req.tasks.forEach((t, i) => {
    if (seen.has(t.id)) {
      ctx.addIssue({ code: "custom", path: ["tasks", i, "id"], message: "repeats an id of this request" });
    }
    seen.add(t.id);
  });
});

export type OnecTask = z.output<typeof onecTaskSchema>;
export type OnecRequest = z.output<typeof onecRequestSchema>;

/** A realistic request, for the OpenAPI example, the README and the demo. */
export const sampleRequest = {
  tasks: [
    {
      id: "ЗаказПокупателя-000457/1",
      calculation: "Сварочный участок",
      title: "Сварить раму РМ-12 по заказу №457 (ООО «СтройМонтаж»)",
      description: "Рама РМ-12, 4 шт. Сталь 09Г2С, сварка по ГОСТ 14771-76. Чертёж во вложении.",
      deadline: "2025-03-20T18:00:00+03:00",
      priority: "high",
      author: { name: "Иванова Мария Петровна", email: "m.ivanova@zavod.example" },
      observers: [{ name: "Кузнецов Андрей", bitrixUserId: 2 }],
      files: [{ name: "Чертёж РМ-12.pdf", content: "JVBERi0xLjQKJcfsj6IKJSVFT0YK" }],
    },
    {
      id: "ЗаказПокупателя-000457/2",
      calculation: "Участок покраски",
      title: "Покрасить раму РМ-12, RAL 7035",
      deadline: "21.03.2025",
      priority: "Средний",
      author: { name: "Иванова Мария Петровна", email: "m.ivanova@zavod.example" },
    },
  ],
};
