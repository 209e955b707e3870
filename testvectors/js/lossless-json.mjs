// Lossless JSON for the shared vector suite: JSON.parse turns 9007199254740993 into ...992,
// 1e400 into Infinity and keeps only the last of duplicate keys, so a value read with JSON.parse
// and re-serialised is not what the vector file says. `parse` keeps every number as its source
// text (a RawNumber) and `stringify` writes it back verbatim, so the text handed to the library
// under test carries exactly the file's numbers (as Rust's serde_json with float_roundtrip does).
// Objects keep the last of duplicate keys, like serde_json's Value.

export class RawNumber {
  constructor(text) { this.text = text; }
  valueOf() { return Number(this.text); }
  toJSON() { return Number(this.text); }
}

export function parse(text) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const fail = (what) => { throw new SyntaxError(`lossless-json: ${what} at ${i}`); };
  function value() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = {};
      ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const k = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        Object.defineProperty(o, k, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return o; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return a; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || !m[0]) fail('unexpected character');
    i += m[0].length;
    return new RawNumber(m[0]);
  }
  function string() {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  }
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}

export function stringify(v) {
  if (v instanceof RawNumber) return v.text;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringify).join(',')}]`;
  return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${stringify(v[k])}`).join(',')}}`;
}

/** Deep copy with RawNumbers turned into JS numbers (for reading expectations). */
export function plain(v) {
  if (v instanceof RawNumber) return Number(v.text);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  return Object.fromEntries(Object.keys(v).map((k) => [k, plain(v[k])]));
}
