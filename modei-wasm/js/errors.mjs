// Error classes of modei-core and the one mechanism that maps native errors onto them.
//
// ES-module twin of modei-node/errors.js: same classes, same convention; keep the two in step.
// Convention shared with modei-node:
// the Rust side throws a plain Error whose message is `[modei:<family>:<code>] <detail>`
// (modei-wasm/src/lib.rs `js_err`). `wrap(fn)` catches it and throws `new <FamilyClass>(code,
// detail)` instead, so callers see a real Error subclass with `.code`, `.detail`, `.family`.
// Other errors (for example a TypeError from wasm-bindgen's argument glue) pass through unchanged.

class ModeiError extends Error {
  constructor(code, detail, options) {
    super(`${code}: ${detail}`, options);
    this.code = code;
    this.detail = detail;
  }
}

function family(cls, name, fam) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(cls.prototype, 'family', { value: fam, writable: true, configurable: true });
  return cls;
}
family(ModeiError, 'ModeiError', undefined);

const CanonicalizationError = family(class CanonicalizationError extends ModeiError {}, 'CanonicalizationError', 'canonicalization');
const ModeiKeyError = family(class ModeiKeyError extends ModeiError {}, 'ModeiKeyError', 'key');
const PassportError = family(class PassportError extends ModeiError {}, 'PassportError', 'passport');
const TrustError = family(class TrustError extends ModeiError {}, 'TrustError', 'trust');
const ConstraintError = family(class ConstraintError extends ModeiError {}, 'ConstraintError', 'constraint');
const AttestationError = family(class AttestationError extends ModeiError {}, 'AttestationError', 'attestation');
const CatalogError = family(class CatalogError extends ModeiError {}, 'CatalogError', 'catalog');
const StateError = family(class StateError extends ModeiError {}, 'StateError', 'state');
const InvalidInputError = family(class InvalidInputError extends ModeiError {}, 'InvalidInputError', 'input');

/** Family name -> class. */
const FAMILY_CLASSES = Object.freeze({
  canonicalization: CanonicalizationError,
  key: ModeiKeyError,
  passport: PassportError,
  trust: TrustError,
  constraint: ConstraintError,
  attestation: AttestationError,
  catalog: CatalogError,
  state: StateError,
  input: InvalidInputError,
});

const GLUE = /^(expected instance of |null pointer passed to rust|recursive use of an object detected|attempted to take ownership)/;
const MARKER = /^\[modei:([a-z_]+):([a-z0-9_]+)\] ([\s\S]*)$/;

/** Converts an error thrown by the native layer; anything unrecognised is returned unchanged. */
function fromNative(e) {
  if (e instanceof ModeiError || !(e instanceof Error)) return e;
  const m = MARKER.exec(e.message);
  if (m) {
    const Cls = FAMILY_CLASSES[m[1]] || ModeiError;
    return new Cls(m[2], m[3]);
  }
  // wasm-bindgen's glue: a class argument of the wrong class, or an object already freed.
  if (GLUE.test(e.message)) return new InvalidInputError('invalid_argument', e.message, { cause: e });
  return e;
}

/** Wraps a native function (sync or returning a Promise) so it throws ModeiError subclasses. */
function wrap(fn) {
  if (typeof fn !== 'function') throw new TypeError('wrap: not a function');
  const wrapped = function (...args) {
    let r;
    try {
      r = fn.apply(this, args);
    } catch (e) {
      throw fromNative(e);
    }
    if (r && typeof r.then === 'function') return r.then(undefined, (e) => { throw fromNative(e); });
    return r;
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped;
}

/** Wraps every method (prototype and static) of a native class in place; returns the class. */
function wrapClass(cls) {
  for (const target of [cls.prototype, cls]) {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (key === 'constructor' || key === 'prototype' || key === 'length' || key === 'name') continue;
      const d = Object.getOwnPropertyDescriptor(target, key);
      // napi-rs makes static methods non-configurable: those are left as they are (shape.js
      // only calls them through wrapped functions).
      if (d && typeof d.value === 'function' && d.configurable) Object.defineProperty(target, key, { ...d, value: wrap(d.value) });
    }
  }
  return cls;
}

export {
  ModeiError, CanonicalizationError, ModeiKeyError, PassportError, TrustError, ConstraintError,
  AttestationError, CatalogError, StateError, InvalidInputError, FAMILY_CLASSES,
  fromNative, wrap, wrapClass,
};
