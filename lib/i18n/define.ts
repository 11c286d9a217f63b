/**
 * How an area of the panel declares its messages: one object with a Russian
 * and an English catalogue of the same keys (the type refuses a key missing in
 * either language). Messages are ICU MessageFormat, so plurals follow each
 * language's rules (`{count, plural, one {# запуск} few {# запуска} many {# запусков} other {# запуска}}`).
 */
export interface AreaMessages<K extends string = string> {
  ru: Record<K, string>;
  en: Record<K, string>;
}

export function defineMessages<K extends string>(messages: { ru: Record<K, string>; en: NoInfer<Record<K, string>> }) {
  return messages as AreaMessages<K>;
}
