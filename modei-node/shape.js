'use strict';
// The JavaScript shape of the modei API, ONE file for both bindings: modei-node uses it as is
// (CommonJS); modei-wasm/build.sh turns it into pkg-*/shape.mjs (the same text with `export`
// instead of `module.exports`). So Node and WASM cannot drift: same names, same argument
// handling, same results.
//
// It only shapes arguments (objects -> JSON text, Date -> ms, which handle goes where) and wraps
// errors; every decision is made by the native layer, which calls the core's JSON facade
// (`modei_core::api`). Native names starting with `_` are internal.
//
// `platform.now()` gives "now" when the caller gave none: undefined for Node (the Rust side
// reads the system clock), `Date.now()` for WASM (no clock on wasm32-unknown-unknown).
// `platform.handle(h)` (WASM only) gives a shared copy of a class handle, since wasm-bindgen
// moves class arguments passed by value.

function makeApi(native, errors, platform) {
  const { wrap, wrapClass, InvalidInputError } = errors;
  const badArg = (what, want) => new InvalidInputError('invalid_argument', `${what}: expected ${want}`);

  /** JSON text of a value (Dates as Unix ms); a value JSON cannot hold (BigInt, cycles) is
   * invalid_argument. */
  function stringify(x, what) {
    try {
      return JSON.stringify(x, (k, v) => (v instanceof Date ? v.getTime() : v));
    } catch (e) {
      throw new InvalidInputError('invalid_argument', `${what}: not JSON-serialisable (${e.message})`);
    }
  }
  /** Text or bytes for the native layer: strings and Uint8Array pass; objects become JSON. */
  function input(x, what = 'input') {
    if (typeof x === 'string' || x instanceof Uint8Array) return x;
    if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x)) return stringify(x, what);
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    throw badArg(what, 'a string, a Uint8Array/Buffer or an object');
  }
  /** JSON text for an options/params object (strings are taken as JSON text already). */
  function json(x, what = 'options') {
    if (x === undefined || x === null) return '{}';
    if (typeof x === 'string') return x;
    if (x instanceof Uint8Array) return text(x, what);
    if (typeof x === 'object') return stringify(x, what);
    throw badArg(what, 'an object or JSON text');
  }
  /** A string (bytes are decoded as UTF-8, strictly). */
  function text(x, what) {
    if (typeof x === 'string') return x;
    if (x instanceof Uint8Array) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(x);
      } catch {
        throw new InvalidInputError('invalid_argument', `${what}: not UTF-8`);
      }
    }
    throw badArg(what, 'a string or UTF-8 bytes');
  }
  const text_ = (x, what) => text(x, what);
  /** A time: RFC 3339 string, Unix ms, or Date; undefined -> platform default. */
  function time(t, what = 'now') {
    if (t === undefined || t === null) return platform.now();
    if (t instanceof Date) return t.getTime();
    if (typeof t === 'string' || typeof t === 'number') return t;
    throw badArg(what, 'an RFC 3339 string, Unix milliseconds or a Date');
  }
  /** "now" given as a time or as `{ now }`. */
  const when = (x) => (x !== null && typeof x === 'object' && !(x instanceof Date) ? time(x.now) : time(x));
  /** Splits handles (not JSON) out of an options object. */
  function split(options, ...handles) {
    const o = options === undefined || options === null ? {} : options;
    if (typeof o !== 'object') throw badArg('options', 'an object');
    const rest = { ...o };
    const got = handles.map((h) => { const v = rest[h]; delete rest[h]; return v; });
    if (rest.now === undefined) {
      const n = platform.now();
      if (n !== undefined) rest.now = n;
    } else rest.now = time(rest.now);
    return [rest, ...got];
  }

  /** A handle passed to a native call (WASM moves class arguments: it gets a shared copy). */
  const handle = (x) => (x === undefined || x === null ? null : platform.handle ? platform.handle(x) : x);

  const api = {};
  api.version = wrap(native.version);
  api.errorCodes = wrap(native.errorCodes);
  /** Test hook: always throws the error for `code`. Not part of the API. */
  api.__raiseForTest = wrap(native.__raiseForTest);

  // ---- canonical JSON ----------------------------------------------------------------------
  /** RFC 8785 canonical form of JSON text, bytes or a value. */
  api.canonicalize = wrap((value) => native._canonicalize(input(value, 'json')));
  /** Lowercase hex SHA-256 of the canonical form (read strictly: duplicate keys refused). */
  api.contentHash = wrap((value) => native._contentHash(input(value, 'json')));
  /** Parses JSON text with the strict reader (duplicate keys, lone surrogates refused). */
  api.parseJson = wrap((text) => native._parseJson(input(text, 'json')));

  // ---- keys ----------------------------------------------------------------------------------
  // Same names as the Python binding (camelCase): importKey(format, data), fromSeedHex, fromPem,
  // fromJwk, fromCredentials, toSeedHex, toPem, toJwk, toCredentials, publicKey (a getter), ...
  const SigningKey = wrapClass(native.SigningKey);
  const def = (cls, name, fn) => Object.defineProperty(cls, name, { value: wrap(fn), writable: true, configurable: true });
  const getter = (cls, name, fn) => Object.defineProperty(cls.prototype, name, { get: fn, configurable: true });
  def(SigningKey, 'generate', () => SigningKey._generate());
  def(SigningKey, 'fromSeed', (seed) => SigningKey._fromSeed(seed));
  def(SigningKey, 'importKey', (format, data) => SigningKey._import(input(data, 'data'), format));
  for (const [n, f] of [['fromSeedHex', 'seed_hex'], ['fromSeedBase64', 'seed_base64'], ['fromSeedBase64url', 'seed_base64url'], ['fromPem', 'pem'], ['fromCredentials', 'credentials'], ['fromJwk', 'jwk']]) {
    def(SigningKey, n, (data) => SigningKey._import(input(data, 'data'), f));
  }
  for (const [n, f] of [['toSeedHex', 'seed_hex'], ['toSeedBase64', 'seed_base64'], ['toSeedBase64url', 'seed_base64url'], ['toPem', 'pem'], ['toJwk', 'jwk']]) {
    def(SigningKey.prototype, n, function () { return this.export(f); });
  }
  def(SigningKey.prototype, 'toCredentials', function (createdAt) { return native._createCredentials(this, time(createdAt ?? Date.now(), 'createdAt')); });
  getter(SigningKey, 'publicKey', function () { return this._publicKey(); });

  const PublicKey = wrapClass(native.PublicKey);
  def(PublicKey, 'fromBytes', (raw) => PublicKey._fromBytes(raw));
  def(PublicKey, 'importKey', (format, data) => PublicKey._import(input(data, 'data'), format));
  for (const [n, f] of [['fromBase64', 'base64'], ['fromBase64url', 'base64url'], ['fromHex', 'hex'], ['fromPem', 'pem'], ['parse', 'any'], ['fromJwk', 'jwk']]) {
    def(PublicKey, n, (data) => PublicKey._import(input(data, 'data'), f));
  }
  /** Any form: a PublicKey, 32 raw bytes, a JWK object, or text in any encoding. */
  def(PublicKey, 'from', (k) => (k instanceof PublicKey ? k : PublicKey._import(input(k, 'publicKey'))));
  for (const [n, f] of [['toBase64', 'base64'], ['toBase64url', 'base64url'], ['toHex', 'hex'], ['toPem', 'pem'], ['toJwk', 'jwk']]) {
    def(PublicKey.prototype, n, function () { return this.export(f); });
  }
  for (const [n, f] of [['thumbprint', 'thumbprint'], ['agentId', 'agent_id'], ['selfIssuerId', 'self_issuer_id'], ['fingerprint', 'fingerprint']]) {
    getter(PublicKey, n, function () { return this.info()[f]; });
  }
  /** Strict verification; throws ModeiKeyError (`signature_invalid`, ...) on failure. */
  def(PublicKey.prototype, 'verify', function (message, signature) { this._verify(input(message, 'message'), input(signature, 'signature')); });
  /** Like verify, as a boolean (malformed signatures are false). */
  def(PublicKey.prototype, 'isValid', function (message, signature) { return this._isValid(input(message, 'message'), input(signature, 'signature')); });
  api.SigningKey = SigningKey;
  api.PublicKey = PublicKey;
  /** Strict Ed25519 verification of a raw signature; throws on failure. */
  api.verifySignature = wrap((publicKey, message, signature) => PublicKey.from(publicKey).verify(message, signature));
  /** Loads a credentials file: `{ key, info: {agent_id, created_at, public_key} }`. */
  api.loadCredentials = wrap((text) => {
    const t = text_(text, 'text');
    return { key: native._loadCredentials(t), info: native._credentialsInfo(t) };
  });
  /** Ids derived from 32 raw key bytes (no point decoding). */
  api.deriveIds = wrap((rawKey) => native._deriveIds(rawKey));

  // ---- passports -----------------------------------------------------------------------------
  /** Decodes a passport of either form WITHOUT verifying it (display and debugging). */
  api.inspectPassport = wrap((passport) => native._inspectPassport(input(passport, 'passport')));
  /** Verifies a v2 envelope: the wire pair `{envelope, signature}` when no signature is given,
   * else the envelope (JSON text parsed exactly as given, or an object) and its detached
   * signature (a string, or null for absent). options: {now, leeway_ms, trust_store}. */
  api.verifyEnvelope = wrap((envelope, signature, options) => {
    if (signature === undefined || (signature !== null && typeof signature === 'object')) {
      const [o, trust] = split(signature ?? options, 'trust_store');
      return native._verifyEnvelope(input(envelope, 'envelope'), json(o), handle(trust));
    }
    return api.verifyDetached(envelope, signature, options);
  });
  /** Verifies an envelope and its detached signature (null: absent). */
  api.verifyDetached = wrap((envelope, signature, options) => {
    const [o, trust] = split(options, 'trust_store');
    if (signature !== null && typeof signature !== 'string') throw badArg('signature', 'a string or null');
    return native._verifyEnvelopeDetached(input(envelope, 'envelope'), signature, json(o), handle(trust));
  });
  /** Self-issues a passport signed by the agent's own key: a JWT (`form: 'jwt'`, the default) or
   * the envelope wire pair as compact JSON text (`form: 'envelope'`). */
  api.selfIssuePassport = wrap((key, params) => {
    const [p] = split(params);
    const form = p.form ?? 'jwt';
    delete p.form;
    if (form === 'jwt') return native._selfIssueJwt(key, json(p, 'params'));
    if (form === 'envelope') return JSON.stringify(native._selfIssueEnvelope(key, json(p, 'params')));
    throw badArg('form', "'jwt' or 'envelope'");
  });
  /** Issues a passport JWT as trust store issuer `issuerId` with key `kid`; params.agent_key is
   * the agent's public key (any form). */
  api.issuePassport = wrap((key, issuerId, kid, params) => {
    const [p] = split(params);
    if (p.agent_key !== undefined && typeof p.agent_key !== 'string') p.agent_key = PublicKey.from(p.agent_key).toBase64();
    return native._issueJwt(key, issuerId, kid, json(p, 'params'));
  });
  /** Delegates from `parent` (either form; the result has the same form) to `childKey`. */
  api.delegatePassport = wrap((parent, parentKey, childKey, params) => {
    const [p, trust] = split(params, 'trust_store');
    const child = PublicKey.from(childKey);
    const text = typeof parent === 'string' ? parent : parent instanceof Uint8Array ? new TextDecoder().decode(parent) : JSON.stringify(parent);
    if (text.trimStart().startsWith('{')) {
      return JSON.stringify(native._delegateEnvelope(text, parentKey, child, json(p, 'params'), handle(trust)));
    }
    p.agent_key = child.toBase64();
    return native._delegateJwt(text, parentKey, json(p, 'params'));
  });

  // ---- trust ---------------------------------------------------------------------------------
  /** A native class whose constructor errors become ModeiErrors (same prototype, so instanceof
   * holds for instances made by the native factories too). */
  const ctor = (Base) => {
    const C = function (...a) {
      try {
        return Reflect.construct(Base, a, new.target ?? C);
      } catch (e) {
        throw errors.fromNative(e);
      }
    };
    C.prototype = Base.prototype;
    Object.setPrototypeOf(C, Base);
    Object.defineProperty(C, 'name', { value: Base.name });
    return C;
  };
  const TrustStore = ctor(wrapClass(native.TrustStore));
  /** From the trust store file (docs/trust-store.md); `origin` prefixes error details. */
  def(TrustStore, 'fromJson', (doc, origin) => TrustStore._fromJson(input(doc, 'trust store'), origin));
  def(TrustStore.prototype, 'addIssuer', function (issuer) { return this._addIssuer(json(issuer, 'issuer')); });
  def(TrustStore.prototype, 'has', function (id) { return this._issuerIds().includes(id); });
  getter(TrustStore, 'issuerIds', function () { return this._issuerIds(); });
  api.TrustStore = TrustStore;
  const RevocationList = ctor(wrapClass(native.RevocationList));
  def(RevocationList, 'fromJson', (doc, origin) => RevocationList._fromJson(input(doc, 'revocation list'), origin));
  api.RevocationList = RevocationList;

  /** The passport verifier. `config`: policy and options members, plus optional `trust_store`
   * (a TrustStore or the file's JSON) and `revocation` (a RevocationList or its JSON). */
  class Verifier {
    #n;
    constructor(config = {}, more = undefined) {
      // Also `new Verifier(trustStore, config)`, as Python's Verifier(trust_store, **config).
      if (config instanceof TrustStore) config = { ...(more ?? {}), trust_store: config };
      if (config === null || typeof config !== 'object') throw badArg('config', 'an object');
      const rest = { ...config };
      let store = rest.trust_store;
      let rev = rest.revocation;
      delete rest.trust_store;
      delete rest.revocation;
      try {
        if (store !== undefined && !(store instanceof TrustStore)) store = TrustStore.fromJson(store);
        if (rev !== undefined && !(rev instanceof RevocationList)) rev = RevocationList.fromJson(rev);
        this.#n = new native.Verifier(json(rest, 'config'), handle(store), handle(rev));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    /** Verifies a passport (JWT or envelope wire pair); `options.now` defaults to the clock. */
    verify(passport, now) {
      try {
        return this.#n._verify(input(passport, 'passport'), when(now));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    /** Verifies many: `[{ok: true, passport} | {ok: false, error}]`, in order. */
    verifyMany(passports, options) {
      try {
        if (!Array.isArray(passports)) throw badArg('passports', 'an array');
        return this.#n._verifyMany(passports.map((p) => text(p, 'passport')), when(options));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    /** verifyMany off the main thread (Node: the libuv pool; WASM: the same work, async). */
    async verifyManyAsync(passports, options) {
      if (!Array.isArray(passports)) throw badArg('passports', 'an array');
      const list = passports.map((p) => text(p, 'passport'));
      const now = when(options);
      if (typeof this.#n._verifyManyAsync !== 'function') return this.verifyMany(list, { now });
      try {
        return JSON.parse(await this.#n._verifyManyAsync(list, now));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    describe() {
      return this.#n.describe();
    }
  }
  api.Verifier = Verifier;

  // ---- gate ----------------------------------------------------------------------------------
  const gateKeysJson = (k) => json(Array.isArray(k) || typeof k === 'string' ? k : [k], 'gateKeys');
  /** A gate: verify the passport, enforce the constraints, attest. `config`: the gate config
   * (docs/api.md § Gate; `trust_store` may be a TrustStore, `revocation` a live RevocationList).
   * options: `{ revocation, log_path }` (log_path: Node only). */
  class Gate {
    #g;
    constructor(config, options = {}) {
      try {
        let cfg = config;
        let rev = options?.revocation;
        if (cfg !== null && typeof cfg === 'object' && !(cfg instanceof Uint8Array)) {
          cfg = { ...cfg };
          if (cfg.trust_store instanceof TrustStore) cfg.trust_store = cfg.trust_store.toObject();
          if (cfg.revocation instanceof RevocationList) { rev = rev ?? cfg.revocation; delete cfg.revocation; }
        }
        if (rev !== undefined && rev !== null && !(rev instanceof RevocationList)) rev = RevocationList.fromJson(rev);
        const logPath = options?.log_path;
        if (logPath !== undefined && logPath !== null && typeof native._verifyLogFile !== 'function') {
          throw new InvalidInputError('invalid_argument', 'log_path: this build has no file system');
        }
        this.#g = new native.Gate(json(cfg, 'config'), handle(rev), logPath ?? null);
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    get gateId() { return this.#g.gateId; }
    /** Checks a request (object or JSON text): a Decision; a block is a result, not a throw. */
    check(request, now) {
      try {
        return this.#g._check(input(request, 'request'), when(now));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    /** The whole pipeline, changing nothing (no counter, nonce, hold or record). */
    dryRun(request, now) {
      try {
        return this.#g._dryRun(json(request, 'request'), when(now));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    /** Many requests, in order (Node: off the main thread). A request that is not a request is
     * `{error: {code, family, detail}}` in its slot. */
    async checkManyAsync(requests, now) {
      if (!Array.isArray(requests)) throw badArg('requests', 'an array');
      const list = requests.map((r) => json(r, 'request'));
      const t = when(now);
      if (typeof this.#g._checkManyAsync !== 'function') {
        return list.map((r) => {
          try {
            return this.#g._check(r, t);
          } catch (e) {
            const x = errors.fromNative(e);
            if (!(x instanceof errors.ModeiError)) throw x;
            return { error: { code: x.code, family: x.family, detail: x.detail } };
          }
        });
      }
      try {
        return JSON.parse(await this.#g._checkManyAsync(list, t));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    denyHold(approval, now) {
      try {
        return this.#g._denyHold(json(approval, 'approval'), when(now));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    pendingHolds() { return this.#g.pendingHolds(); }
    expireHolds(now) {
      try {
        return this.#g.expireHolds(when(now));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    heartbeat(at) {
      try {
        this.#g.heartbeat(when(at));
      } catch (e) {
        throw errors.fromNative(e);
      }
    }
    /** `{gate_id, key_id, public_key}`: what an auditor passes as gateKeys (null without a key). */
    get attestationKey() { return this.#g.attestationKey; }
    /** The in-memory attestation log as JSON Lines text (null with log_path). */
    exportLog() { return this.#g.exportLog(); }
    get logLen() { return this.#g.logLen; }
    get cachedPassports() { return this.#g.cachedPassports; }
  }
  api.Gate = Gate;
  /** Operator side: signs an approval of a hold: `{hold_id, request_digest, decision:
   * 'approved'|'denied', operator_key_id, timestamp?}`. */
  api.signApproval = wrap((key, params) => {
    const [p] = split(params);
    if (p.timestamp === undefined && p.now !== undefined) p.timestamp = p.now;
    delete p.now;
    return native._signApproval(key, json(p, 'params'));
  });
  /** Agent side: the proof of possession (base64url) for `request` (with nonce and timestamp). */
  api.signPop = wrap((agentKey, gateId, passportId, request) => native._signPop(agentKey, gateId, passportId, json(request, 'request')));
  /** The request digest the gate computes (hex SHA-256). */
  api.requestDigest = wrap((gateId, passportId, request) => native._requestDigest(gateId, passportId ?? null, json(request, 'request')));

  // ---- attestations --------------------------------------------------------------------------
  const chunksOf = (source) => {
    if (typeof source === 'string' || source instanceof Uint8Array) return [source];
    if (source !== null && typeof source === 'object' && typeof source[Symbol.iterator] === 'function') {
      const out = [];
      for (const c of source) {
        if (typeof c !== 'string' && !(c instanceof Uint8Array)) throw badArg('log chunk', 'a string or a Uint8Array');
        out.push(c);
      }
      return out;
    }
    throw badArg('log', 'text, bytes, or an iterable of chunks');
  };
  /** Verifies an attestation log (JSON Lines as text, bytes or chunks), streaming in bounded
   * memory. A broken log is a report `{ok: false, first_error}`, not a throw. */
  api.verifyLog = wrap((source, gateKeys, options) => native._verifyLog(chunksOf(source), gateKeysJson(gateKeys), json(options?.checkpoints ?? [], 'checkpoints')));
  /** verifyLog off the main thread (Node: the libuv pool). */
  api.verifyLogAsync = async (source, gateKeys, options) => {
    if (typeof native._verifyLogAsync !== 'function') return api.verifyLog(source, gateKeys, options);
    try {
      return JSON.parse(await native._verifyLogAsync(chunksOf(source), gateKeysJson(gateKeys), json(options?.checkpoints ?? [], 'checkpoints')));
    } catch (e) {
      throw errors.fromNative(e);
    }
  };
  if (typeof native._verifyLogFile === 'function') {
    /** Verifies a log file, streaming from disk (Node only). */
    api.verifyLogFile = wrap((path, gateKeys, options) => native._verifyLogFile(path, gateKeysJson(gateKeys), json(options?.checkpoints ?? [], 'checkpoints')));
    /** verifyLogFile off the main thread (Node only). */
    api.verifyLogFileAsync = wrap(async (path, gateKeys, options) => JSON.parse(await native._verifyLogFileAsync(path, gateKeysJson(gateKeys), json(options?.checkpoints ?? [], 'checkpoints'))));
  }
  /** Verifies one record's signature against the gate keys; returns the record. */
  api.verifyAttestation = wrap((record, gateKeys) => native._verifyAttestation(input(record, 'record'), gateKeysJson(gateKeys)));
  /** Verifies a checkpoint's signature; returns the checkpoint. */
  api.verifyCheckpoint = wrap((checkpoint, gateKeys) => native._verifyCheckpoint(input(checkpoint, 'checkpoint'), gateKeysJson(gateKeys)));

  return api;
}

module.exports = { makeApi };
