/** One sample line of the Prometheus text format: its metric name and labels. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
}

export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    out.push({ name: match[1], labels });
  }
  return out;
}

/** The distinct values of each label over the samples of the metrics whose name starts with `prefix`. */
export function labelValues(all: Sample[], prefix: string): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const s of all) {
    if (!s.name.startsWith(prefix)) continue;
    for (const [k, v] of Object.entries(s.labels)) {
      if (k === 'le') continue;
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(v);
    }
  }
  return values;
}

/** How many samples the metrics whose name starts with `prefix` have. */
export const seriesCount = (all: Sample[], prefix: string): number =>
  all.filter((s) => s.name.startsWith(prefix)).length;
