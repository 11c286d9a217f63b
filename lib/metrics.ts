/**
 * Prometheus-style counters and histograms kept in memory per process. A
 * scrape of `/metrics` renders them in the text exposition format.
 */

type Labels = Record<string, string>;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  return keys.map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, "_")}"`).join(",");
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** A registry of metrics. Names follow Prometheus conventions (`shlyuz_*`). */
export class Metrics {
  #counters = new Map<string, Map<string, number>>();
  #gauges = new Map<string, () => number | Promise<number>>();
  #histograms = new Map<string, Map<string, Histogram>>();
  #help = new Map<string, string>();

  /** Adds `by` to a counter. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.#counters.get(name);
    if (!series) this.#counters.set(name, series = new Map());
    const key = labelKey(labels);
    series.set(key, (series.get(key) ?? 0) + by);
  }

  /** Reads a counter, mostly for tests and health output. */
  value(name: string, labels: Labels = {}): number {
    return this.#counters.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** Records one observation (seconds) in a histogram. */
  observe(name: string, seconds: number, labels: Labels = {}): void {
    let series = this.#histograms.get(name);
    if (!series) this.#histograms.set(name, series = new Map());
    const key = labelKey(labels);
    let h = series.get(key);
    if (!h) series.set(key, h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 });
    h.sum += seconds;
    h.count++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.buckets[i]++;
  }

  /** A gauge read at scrape time. */
  gauge(name: string, read: () => number | Promise<number>, help?: string): void {
    this.#gauges.set(name, read);
    if (help) this.#help.set(name, help);
  }

  describe(name: string, help: string): void {
    this.#help.set(name, help);
  }

  /** Renders everything in the Prometheus text format. */
  async render(): Promise<string> {
    const out: string[] = [];
    const head = (name: string, type: string) => {
      const help = this.#help.get(name);
      if (help) out.push(`# HELP ${name} ${help}`);
      out.push(`# TYPE ${name} ${type}`);
    };
    for (const [name, series] of this.#counters) {
      head(name, "counter");
      for (const [key, v] of series) out.push(`${name}${key ? `{${key}}` : ""} ${v}`);
    }
    for (const [name, read] of this.#gauges) {
      head(name, "gauge");
      let v: number;
      try {
        v = await read();
      } catch {
        v = NaN;
      }
      out.push(`${name} ${v}`);
    }
    for (const [name, series] of this.#histograms) {
      head(name, "histogram");
      for (const [key, h] of series) {
        const sep = key ? `${key},` : "";
        BUCKETS.forEach((b, i) => out.push(`${name}_bucket{${sep}le="${b}"} ${h.buckets[i]}`));
        out.push(`${name}_bucket{${sep}le="+Inf"} ${h.count}`);
        out.push(`${name}_sum${key ? `{${key}}` : ""} ${h.sum}`);
        out.push(`${name}_count${key ? `{${key}}` : ""} ${h.count}`);
      }
    }
    return out.join("\n") + "\n";
  }
}
