/**
 * Matching the 1C calculation name ("Калькуляция") to a sub-department of
 * Production. Names typed in 1C and in Bitrix24 differ in case, spaces,
 * quotes, ё/е and Latin look-alike letters, so both sides are normalized
 * first. Rules, in order (the first that gives one department wins):
 *
 * 1. exact: equal after normalization;
 * 2. contains: the calculation contains the department name as whole words
 *    ("Калькуляция 45: сварочный участок, рама" → «Сварочный участок»), or the
 *    department name contains the whole calculation; the longest name wins,
 *    and two different departments of the same length are ambiguous;
 * 3. typo: a unique department within edit distance 1 (names up to 10
 *    letters) or 2 (longer names) — "Сворочный участок".
 *
 * No rule or an ambiguous result means "no match": the task goes to the
 * fallback responsible with an `onec.unassigned` event, never to a guess.
 */

const QUOTES = /[«»"'„“”‘’‚`´]/g;
const DASHES = /[‐‑‒–—―]/g;
const PUNCT = /[.,:;!?()[\]{}\\/|*+_=<>#]/g;
/** Latin letters that look like Cyrillic ones, as 1C users sometimes type them. */
const LOOKALIKE: Record<string, string> = {
  a: "а",
  c: "с",
  e: "е",
  o: "о",
  p: "р",
  x: "х",
  y: "у",
  k: "к",
  m: "м",
  t: "т",
  h: "н",
  b: "в",
};

/** Lower case, ё→е, no quotes, one space between words, look-alike Latin letters made Cyrillic in Cyrillic words. */
export function normalizeName(name: string): string {
  const words = name
    .normalize("NFC")
    .toLowerCase()
    .replace(/ё/g, "е")
    .replace(QUOTES, "")
    .replace(DASHES, "-")
    .replace(PUNCT, " ")
    .replace(/\s+/g, " ")
    .trim()
    .split(" ");
  return words
    .map((w) => (/[а-я]/.test(w) ? w.replace(/[a-z]/g, (ch) => LOOKALIKE[ch] ?? ch) : w))
    .filter(Boolean)
    .join(" ");
}

export interface Named {
  id: number;
  name: string;
}

export type MatchRule = "exact" | "contains" | "typo";

export type MatchResult<T extends Named> =
  | { kind: "match"; department: T; rule: MatchRule }
  | { kind: "ambiguous"; departments: T[]; rule: MatchRule }
  | { kind: "none" };

/** Finds the department for a calculation name (rules in the module comment). */
export function matchDepartment<T extends Named>(
  calculation: string,
  departments: T[],
  { fuzzy = true }: { fuzzy?: boolean } = {},
): MatchResult<T> {
  const calc = normalizeName(calculation);
  if (!calc) return { kind: "none" };
  const named = departments.map((d) => ({ d, n: normalizeName(d.name) })).filter((x) => x.n);

  const exact = unique(named.filter((x) => x.n === calc).map((x) => x.d));
  if (exact.length === 1) return { kind: "match", department: exact[0], rule: "exact" };
  if (exact.length > 1) return { kind: "ambiguous", departments: exact, rule: "exact" };
  if (!fuzzy) return { kind: "none" };

  const padded = ` ${calc} `;
  const containing = named.filter((x) => padded.includes(` ${x.n} `) || ` ${x.n} `.includes(padded));
  if (containing.length) {
    const longest = Math.max(...containing.map((x) => x.n.length));
    const best = unique(containing.filter((x) => x.n.length === longest).map((x) => x.d));
    return best.length === 1
      ? { kind: "match", department: best[0], rule: "contains" }
      : { kind: "ambiguous", departments: best, rule: "contains" };
  }

  const scored = named.map((x) => ({ ...x, dist: editDistance(calc, x.n, 2) }))
    .filter((x) => x.dist <= (Math.max(calc.length, x.n.length) <= 10 ? 1 : 2));
  if (scored.length) {
    const min = Math.min(...scored.map((x) => x.dist));
    const best = unique(scored.filter((x) => x.dist === min).map((x) => x.d));
    return best.length === 1
      ? { kind: "match", department: best[0], rule: "typo" }
      : { kind: "ambiguous", departments: best, rule: "typo" };
  }
  return { kind: "none" };
}

function unique<T extends Named>(list: T[]): T[] {
  const seen = new Set<number>();
  return list.filter((d) => !seen.has(d.id) && seen.add(d.id));
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent swaps), giving
 * up early above `max` (returns max + 1).
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    prev2.splice(0, prev2.length, ...prev);
    prev = cur;
  }
  return prev[b.length];
}
