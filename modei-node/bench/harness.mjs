// Timing harness shared by the Node and WASM benchmarks (Node and the browser: only
// performance.now()). Each measurement: warm up, then `reps` repetitions of a batch sized to
// last about `batchMs`; the reported figure is the median of the per-repetition µs/op, with the
// min and max of the repetitions.

export function measure(name, fn, { reps = 9, batchMs = 150, warmMs = 200 } = {}) {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < warmMs) { fn(); n++; }
  const per = Math.max(1, Math.round(n * batchMs / Math.max(1, performance.now() - t0)));
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    for (let i = 0; i < per; i++) fn();
    samples.push(((performance.now() - s) * 1000) / per);
  }
  return summarize(name, samples, per);
}

export async function measureAsync(name, fn, { reps = 9, batchMs = 150, warmMs = 200 } = {}) {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < warmMs) { await fn(); n++; }
  const per = Math.max(1, Math.round(n * batchMs / Math.max(1, performance.now() - t0)));
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    for (let i = 0; i < per; i++) await fn();
    samples.push(((performance.now() - s) * 1000) / per);
  }
  return summarize(name, samples, per);
}

function summarize(name, samples, per) {
  const s = [...samples].sort((a, b) => a - b);
  return { name, median_us: s[Math.floor(s.length / 2)], min_us: s[0], max_us: s[s.length - 1], reps: s.length, batch: per };
}

export function table(rows, baseName) {
  const base = rows.find((r) => r.name === baseName);
  const lines = ['| what | median µs/op | ops/s | min–max µs | vs ' + (baseName ?? '-') + ' |', '|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    const ratio = base ? (base.median_us / r.median_us) : NaN;
    lines.push(`| ${r.name} | ${r.median_us.toFixed(1)} | ${Math.round(1e6 / r.median_us).toLocaleString('en-US')} | ${r.min_us.toFixed(1)}–${r.max_us.toFixed(1)} | ${base ? ratio.toFixed(2) + '×' : ''} |`);
  }
  return lines.join('\n');
}
