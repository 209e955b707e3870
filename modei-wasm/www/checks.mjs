// Checks shared by the Node tests (test/*.test.mjs) and the browser page (www/index.html).
// Kept outside test/ so that `node --test` does not run it as a test file (pitfall N4).
// Each check throws on failure; runChecks returns [{ name, ok, error }].

const FAMILIES = {
  canonicalization: 'CanonicalizationError', key: 'ModeiKeyError', passport: 'PassportError',
  trust: 'TrustError', constraint: 'ConstraintError', attestation: 'AttestationError',
  catalog: 'CatalogError', state: 'StateError', input: 'InvalidInputError',
};

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export const checks = {
  version(m) {
    assert(/^\d+\.\d+\.\d+/.test(m.version()), `bad version ${m.version()}`);
  },
  errorTable(m) {
    const table = m.errorCodes();
    assert(Array.isArray(table) && table.length > 50, 'table too short');
    const codes = new Set();
    for (const r of table) {
      assert(Object.keys(r).sort().join() === 'code,family,meaning', `keys of ${JSON.stringify(r)}`);
      assert(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(r.code), `not snake_case: ${r.code}`);
      assert(r.family in FAMILIES, `unknown family ${r.family}`);
      assert(r.meaning.trim().length > 0, `no meaning: ${r.code}`);
      assert(!codes.has(r.code), `duplicate ${r.code}`);
      codes.add(r.code);
    }
    assert(new Set(table.map((r) => r.family)).size === Object.keys(FAMILIES).length, 'families');
  },
  classHierarchy(m) {
    assert(m.ModeiError.prototype instanceof Error, 'ModeiError extends Error');
    for (const [fam, name] of Object.entries(FAMILIES)) {
      const Cls = m[name];
      assert(typeof Cls === 'function', `missing class ${name}`);
      assert(Cls.prototype instanceof m.ModeiError, `${name} extends ModeiError`);
      assert(m.FAMILY_CLASSES[fam] === Cls, `FAMILY_CLASSES.${fam}`);
      assert(Cls.prototype.name === name && Cls.prototype.family === fam, `${name} name/family`);
    }
  },
  everyCodeThrowsItsClass(m) {
    for (const { code, family } of m.errorCodes()) {
      let e;
      try {
        m.__raiseForTest(code, `detail for ${code}`);
      } catch (x) {
        e = x;
      }
      assert(e instanceof Error && e instanceof m.ModeiError, `${code}: not a ModeiError: ${e}`);
      assert(Object.getPrototypeOf(e) === m[FAMILIES[family]].prototype, `${code}: class ${e.name}`);
      assert(e.code === code && e.family === family, `${code}: .code/.family ${e.code}/${e.family}`);
      assert(e.detail === `detail for ${code}`, `${code}: .detail ${e.detail}`);
      assert(e.message === `${code}: detail for ${code}`, `${code}: .message ${e.message}`);
    }
  },
  unknownCodeIsInvalidInput(m) {
    let e;
    try {
      m.__raiseForTest('no_such_code');
    } catch (x) {
      e = x;
    }
    assert(e instanceof m.InvalidInputError && e.code === 'invalid_argument', `got ${e}`);
  },
};

export function runChecks(m) {
  return Object.entries(checks).map(([name, fn]) => {
    try {
      fn(m);
      return { name, ok: true };
    } catch (e) {
      return { name, ok: false, error: String(e && e.stack || e) };
    }
  });
}
