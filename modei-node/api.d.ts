// Types of the modei JavaScript API, shared by modei-node (npm `modei-core`) and modei-wasm
// (build.sh copies this file into pkg-node/ and pkg-web/). Hand-written to match shape.js; a
// `tsc --noEmit` test checks it against example code (test/types/example.ts).
//
// Conventions: function and method names are camelCase; JSON-shaped data (results, options,
// params) keeps the snake_case member names of the JSON facade (`docs/api.md`), so a result is
// the same JSON in every language. Times are RFC 3339 strings, Unix milliseconds or Dates.

// ---- errors --------------------------------------------------------------------------------

export type ErrorFamily =
  | 'canonicalization' | 'key' | 'passport' | 'trust' | 'constraint'
  | 'attestation' | 'catalog' | 'state' | 'input';

/** Base class of every error modei throws. */
export declare class ModeiError extends Error {
  constructor(code: string, detail: string, options?: { cause?: unknown });
  /** Stable snake_case code, e.g. `passport_expired`. */
  readonly code: string;
  /** Human-readable detail naming the field or path at fault. */
  readonly detail: string;
  readonly family: ErrorFamily | undefined;
}
export declare class CanonicalizationError extends ModeiError { readonly family: 'canonicalization'; }
export declare class ModeiKeyError extends ModeiError { readonly family: 'key'; }
export declare class PassportError extends ModeiError { readonly family: 'passport'; }
export declare class TrustError extends ModeiError { readonly family: 'trust'; }
export declare class ConstraintError extends ModeiError { readonly family: 'constraint'; }
export declare class AttestationError extends ModeiError { readonly family: 'attestation'; }
export declare class CatalogError extends ModeiError { readonly family: 'catalog'; }
export declare class StateError extends ModeiError { readonly family: 'state'; }
export declare class InvalidInputError extends ModeiError { readonly family: 'input'; }
export declare const FAMILY_CLASSES: Readonly<Record<ErrorFamily, typeof ModeiError>>;

export interface ErrorCodeInfo {
  code: string;
  family: ErrorFamily;
  meaning: string;
}
/** An error as data (in batch results): `{code, family, detail}`. */
export interface ErrorData {
  code: string;
  family: ErrorFamily;
  detail: string;
}

export declare function version(): string;
/** Every error code, in table order. */
export declare function errorCodes(): ErrorCodeInfo[];

// ---- inputs --------------------------------------------------------------------------------

/** JSON given as text, UTF-8 bytes, or a value (serialised with JSON.stringify: give text when
 * exact numbers beyond 2^53 or duplicate-key checks matter). */
export type JsonInput = string | Uint8Array | object;
/** Bytes, or a string (its UTF-8). */
export type BytesInput = string | Uint8Array;
export type Time = string | number | Date;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

// ---- canonical JSON ------------------------------------------------------------------------

/** RFC 8785 canonical form (input read strictly: duplicate keys, lone surrogates refused). */
export declare function canonicalize(json: JsonInput): string;
/** Hex SHA-256 of the canonical form (input read strictly: duplicate keys refused). */
export declare function contentHash(json: JsonInput): string;

// ---- keys ----------------------------------------------------------------------------------

export type SigningKeyFormat = 'seed' | 'seed_base64' | 'seed_base64url' | 'seed_hex' | 'jwk' | 'pem' | 'credentials';
export type SigningKeyExportFormat = 'seed_base64' | 'seed_base64url' | 'seed_hex' | 'pem' | 'jwk';
export type PublicKeyFormat = 'raw' | 'base64' | 'base64url' | 'hex' | 'jwk' | 'pem' | 'any';
export type PublicKeyExportFormat = 'base64' | 'base64url' | 'hex' | 'pem' | 'jwk';

export interface PublicJwk { kty: 'OKP'; crv: 'Ed25519'; x: string; kid?: string }
export interface PrivateJwk extends PublicJwk { d: string }
export interface PublicKeyInfo {
  public_key: string;
  base64url: string;
  hex: string;
  jwk: PublicJwk;
  thumbprint: string;
  agent_id: string;
  self_issuer_id: string;
  fingerprint: string;
  is_weak: boolean;
}

export declare class SigningKey {
  private constructor();
  /** A fresh key from the platform's CSPRNG. */
  static generate(): SigningKey;
  static fromSeed(seed: Uint8Array): SigningKey;
  static importKey(format: SigningKeyFormat, data: JsonInput): SigningKey;
  static fromSeedHex(hex: string): SigningKey;
  static fromSeedBase64(b64: string): SigningKey;
  static fromSeedBase64url(b64url: string): SigningKey;
  static fromPem(pkcs8: string): SigningKey;
  static fromJwk(jwk: PrivateJwk | string): SigningKey;
  static fromCredentials(fileText: string): SigningKey;
  export(format: 'jwk'): PrivateJwk;
  export(format: Exclude<SigningKeyExportFormat, 'jwk'>): string;
  toSeedHex(): string;
  toSeedBase64(): string;
  toSeedBase64url(): string;
  toPem(): string;
  toJwk(): PrivateJwk;
  /** Modei's credentials file for this key (byte-identical to Modei's SDKs). */
  toCredentials(createdAt?: Time): string;
  seed(): Uint8Array;
  readonly publicKey: PublicKey;
  /** Pure Ed25519 (RFC 8032): 64 bytes. */
  sign(message: BytesInput): Uint8Array;
}

export declare class PublicKey {
  private constructor();
  /** Any form: a PublicKey, 32 raw bytes, a JWK object, or text in any encoding. */
  static from(key: PublicKey | Uint8Array | PublicJwk | string): PublicKey;
  static importKey(format: PublicKeyFormat, data: JsonInput): PublicKey;
  static fromBytes(raw: Uint8Array): PublicKey;
  static fromBase64(b64: string): PublicKey;
  static fromBase64url(b64url: string): PublicKey;
  static fromHex(hex: string): PublicKey;
  static fromPem(spki: string): PublicKey;
  static fromJwk(jwk: PublicJwk | string): PublicKey;
  /** Text in any encoding (detected). */
  static parse(text: string): PublicKey;
  export(format: 'jwk'): PublicJwk;
  export(format: Exclude<PublicKeyExportFormat, 'jwk'>): string;
  toBytes(): Uint8Array;
  toBase64(): string;
  toBase64url(): string;
  toHex(): string;
  toPem(): string;
  toJwk(): PublicJwk;
  info(): PublicKeyInfo;
  /** RFC 7638 JWK thumbprint. */
  readonly thumbprint: string;
  /** `agent_self_...` derived from the key. */
  readonly agentId: string;
  /** `self:<hex>` derived from the key. */
  readonly selfIssuerId: string;
  readonly fingerprint: string;
  /** Strict verification; throws ModeiKeyError (`signature_invalid`, `signature_malformed`,
   * `key_weak`, ...) on failure. Signature: 64 bytes, or hex / base64 / base64url text. */
  verify(message: BytesInput, signature: BytesInput): void;
  /** Like verify, as a boolean (malformed signatures are false). */
  isValid(message: BytesInput, signature: BytesInput): boolean;
}

/** Strict Ed25519 verification of a raw signature; throws on failure. */
export declare function verifySignature(publicKey: PublicKey | string | Uint8Array | PublicJwk, message: BytesInput, signature: BytesInput): void;
/** Loads Modei's credentials file. */
export declare function loadCredentials(fileText: string | Uint8Array): { key: SigningKey; info: { agent_id: string; created_at: string; public_key: string } };
/** Ids derived from 32 raw key bytes (no point decoding). */
export declare function deriveIds(rawKey: Uint8Array): { agent_id: string; self_issuer_id: string; fingerprint: string };
/** Parses JSON text with the strict reader (duplicate keys, lone surrogates refused). */
export declare function parseJson(text: string | Uint8Array): JsonValue;

// ---- passports -----------------------------------------------------------------------------

export type Tier = 'L0' | 'L0.5' | 'L1' | 'L2' | 'L3';
export interface PermissionGrant {
  permission_key: string;
  constraints: { [k: string]: JsonValue };
}
export interface IssuerRef { id: string; type: string; key_id: string }
export interface CatalogPinJson { gate_id: string | null; version: number | null; content_hash: string | null }

/** A verified passport (either wire form): `docs/api.md` § Passport object. */
export interface Passport {
  valid: true;
  form: 'jwt' | 'v2_envelope';
  passport_id: string;
  agent_id: string;
  agent_name: string | null;
  /** Standard base64 of the agent's Ed25519 key. */
  agent_key: string;
  issuer: IssuerRef;
  root_issuer: IssuerRef;
  tier: Tier;
  permissions: PermissionGrant[];
  issued_at: string;
  not_before: string | null;
  expires_at: string;
  audience: string[];
  catalog: CatalogPinJson | null;
  delegation_authority: boolean;
  lineage: { passport_id: string; agent_id: string; issuer_id: string }[];
  /** Hex BLAKE3 of the token / signing input: a cache key. */
  digest: string;
  warnings: { code: string; age_ms?: number | null; max_age_ms?: number }[];
}

/** A verified v2 envelope (reference verification): `docs/api.md` § Envelope verification. */
export interface VerifiedEnvelope {
  valid: true;
  form: 'v2_envelope';
  tier: Tier;
  passport_id: string;
  agent_id: string;
  agent_name: string | null;
  issuer: IssuerRef;
  signer: string;
  agent_key: string;
  issued_at: string;
  expires_at: string;
  permissions: PermissionGrant[];
  delegation_authority: boolean;
  delegation_depth: number;
  signing_input_sha256: string;
  envelope: { [k: string]: JsonValue };
  signature: string;
}

/** An undecoded passport: nothing in it is verified. */
export interface InspectedPassport {
  verified: false;
  form: 'jwt' | 'v2_envelope';
  header: { [k: string]: JsonValue } | null;
  body: { [k: string]: JsonValue };
}

/** The wire pair of a v2 envelope. */
export interface EnvelopeWire { envelope: { [k: string]: JsonValue }; signature: string }

export interface EnvelopeVerifyOptions {
  now?: Time;
  leeway_ms?: number;
  /** For platform / gate issuers. */
  trust_store?: TrustStore;
}

export interface IssueParams {
  passport_id?: string;
  agent_name?: string;
  permissions?: (string | PermissionGrant)[];
  issued_at?: Time;
  expires_at?: Time;
  ttl_seconds?: number;
  delegation_authority?: boolean;
  now?: Time;
}
export interface EnvelopeIssueParams extends IssueParams { verification_evidence?: JsonValue[] }
export interface JwtIssueParams extends IssueParams {
  not_before?: Time;
  audience?: string | string[];
  catalog?: { gate_id?: string; version?: number; content_hash?: string };
}
export interface JwtForAgentParams extends JwtIssueParams {
  /** The agent's public key (any form). */
  agent_key: string | PublicKey | Uint8Array | PublicJwk;
  agent_id?: string;
}

/** Decodes a passport of either form WITHOUT verifying anything (display and debugging). */
export declare function inspectPassport(passport: JsonInput): InspectedPassport;
/** Verifies a v2 envelope wire pair `{envelope, signature}` (JSON text or object)... */
export declare function verifyEnvelope(wire: JsonInput, options?: EnvelopeVerifyOptions): VerifiedEnvelope;
/** ...or an envelope (JSON text parsed exactly as given, or an object) and its detached
 * signature (`null`: absent). */
export declare function verifyEnvelope(envelope: JsonInput, signature: string | null, options?: EnvelopeVerifyOptions): VerifiedEnvelope;
export declare function verifyDetached(envelope: JsonInput, signature: string | null, options?: EnvelopeVerifyOptions): VerifiedEnvelope;
/** Self-issues a passport with the agent's own key: a JWT (`form: 'jwt'`, the default) or the
 * envelope wire pair as compact JSON text (`form: 'envelope'`). */
export declare function selfIssuePassport(key: SigningKey, params: JwtIssueParams & EnvelopeIssueParams & { form?: 'jwt' | 'envelope' }): string;
/** Issues a passport JWT as trust store issuer `issuerId` with key `kid`. */
export declare function issuePassport(key: SigningKey, issuerId: string, kid: string, params: JwtForAgentParams): string;
/** Delegates from `parent` (either form; the result has the same form, as text) to `childKey`. */
export declare function delegatePassport(parent: string | Uint8Array | EnvelopeWire, parentKey: SigningKey, childKey: PublicKey | string | Uint8Array | PublicJwk, params: JwtIssueParams & EnvelopeIssueParams & { trust_store?: TrustStore }): string;

// ---- trust ---------------------------------------------------------------------------------

export interface TrustedKeyJson {
  kid: string;
  jwk?: PublicJwk;
  public_key?: string;
  not_before?: string;
  not_after?: string;
  revoked?: boolean;
  revoked_at?: string;
}
export interface TrustedIssuerJson {
  id: string;
  type: 'organization' | 'platform' | 'gate' | string;
  name?: string;
  tier?: Tier;
  keys: TrustedKeyJson[];
}
export interface TrustStoreDocument { version: 1; issuers: TrustedIssuerJson[] }

export declare class TrustStore {
  constructor();
  /** From the trust store file (`docs/trust-store.md`); `origin` prefixes error details. */
  static fromJson(doc: JsonInput, origin?: string): TrustStore;
  addIssuer(issuer: TrustedIssuerJson | string): void;
  removeIssuer(id: string): boolean;
  has(id: string): boolean;
  /** The issuer ids, sorted. */
  readonly issuerIds: string[];
  readonly size: number;
  /** The file text (deterministic). */
  toJson(): string;
  toObject(): TrustStoreDocument;
}

export declare class RevocationList {
  /** An empty list current as of `asOf` (default now). */
  constructor(asOf?: Time);
  static fromJson(doc: JsonInput, origin?: string): RevocationList;
  revokePassport(passportId: string): void;
  revokeAgent(agentId: string): void;
  revokeIssuerKey(issuerId: string, kid: string): void;
  setRefreshed(at?: Time): void;
  passportRevoked(passportId: string): boolean;
  agentRevoked(agentId: string): boolean;
  issuerKeyRevoked(issuerId: string, kid: string): boolean;
  toJson(): string;
}

export type Freshness = 'any' | 'L1' | 'L2' | 'L3' | { warn_after_ms: number } | { deny_after_ms: number };
export interface PolicyOptions {
  allow_self_issued?: boolean;
  min_tier?: Tier;
  allowed_issuers?: string | string[];
}
export interface VerifierOptionsJson {
  leeway_ms?: number;
  gate_id?: string;
  accept_eddsa?: boolean;
  max_token_bytes?: number;
  max_envelope_bytes?: number;
  revocation_freshness?: Freshness;
}
export interface VerifierConfig extends PolicyOptions, VerifierOptionsJson {
  policy?: PolicyOptions;
  options?: VerifierOptionsJson;
  trust_store?: TrustStore | TrustStoreDocument | string;
  revocation?: RevocationList | object | string;
}

export type BatchResult<T> = { ok: true; passport: T } | { ok: false; error: ErrorData };

export declare class Verifier {
  constructor(config?: VerifierConfig);
  /** As Python's `Verifier(trust_store, **config)`. */
  constructor(trustStore: TrustStore, config?: VerifierConfig);
  /** Verifies a passport of either wire form (compact JWT, or envelope wire pair) at `now`
   * (default: the clock). Throws a ModeiError (PassportError, TrustError, ...) with the
   * precise code when it does not verify. */
  verify(passport: JsonInput, now?: Time | { now?: Time }): Passport;
  /** Many at once, in order; failures are data. */
  verifyMany(passports: (string | Uint8Array)[], options?: { now?: Time }): BatchResult<Passport>[];
  /** The same off the main thread (Node: the libuv pool). */
  verifyManyAsync(passports: (string | Uint8Array)[], options?: { now?: Time }): Promise<BatchResult<Passport>[]>;
  describe(): { policy: JsonValue; options: JsonValue; issuers: number };
}

// ---- gate ----------------------------------------------------------------------------------

/** A request to a gate (docs/api.md § Gate request). No passport: anonymous access. */
export interface GateRequest {
  action: string;
  passport?: string;
  target?: string;
  cost_cents?: number;
  metadata?: { [k: string]: JsonValue };
  nonce?: string;
  timestamp?: number;
  pop?: string;
  client_id?: string;
  approval?: Approval;
}
export interface Evaluation { key: string; outcome: string; observed?: JsonValue; limit?: JsonValue; detail?: string | null }
/** A gate decision (docs/api.md § Decision). A `block` is a result, never a throw. */
export interface Decision {
  decision: 'allow' | 'request_hold' | 'block';
  reason: string | null;
  detail: string | null;
  recorded_as: 'allow' | 'request_hold' | 'block' | 'approved' | 'denied';
  evaluations: Evaluation[];
  effective_constraints: { [k: string]: JsonValue };
  hold_id?: string;
  hold_expires_at?: string;
  passport_id: string | null;
  agent_id: string | null;
  permission: string | null;
  target: string | null;
  request_digest: string;
  decided_at: string;
  dry_run: boolean;
  cached: boolean;
  warnings: string[];
  upgrade?: { message: string; url?: string };
  attestation?: { [k: string]: JsonValue };
  checkpoint?: { [k: string]: JsonValue };
}
export interface Hold {
  hold_id: string; request_digest: string; passport_id: string; agent_id: string; action: string;
  target: string | null; permission: string; reserved_cents: number; reason: string; detail: string;
  created_at: string; expires_at: string;
}
export interface Approval { [k: string]: JsonValue }
/** What an auditor passes as gate keys: `{gate_id, key_id, public_key}` (e.g. `gate.attestationKey`). */
export interface GateKey { gate_id: string; key_id: string; public_key: string | PublicJwk }
export type GateKeys = GateKey | GateKey[];

/** The gate config (docs/api.md § Gate); `trust_store` may be a TrustStore and `revocation` a
 * live RevocationList. */
export interface GateConfig {
  gate_id: string;
  profile?: 'L1' | 'L2' | 'L3';
  trust_store?: TrustStore | TrustStoreDocument;
  policy?: PolicyOptions;
  revocation?: RevocationList | object;
  signing_key?: { seed_hex?: string; seed_base64url?: string; seed_base64?: string; pem?: string; jwk?: PrivateJwk; key_id?: string };
  catalogs?: JsonValue[];
  anonymous?: { enabled?: boolean; allowed_actions?: string[]; blocked_actions?: string[]; read_only?: boolean; rate_limit_per_minute?: number; rate_limit_per_hour?: number; upgrade_message?: string; upgrade_url?: string };
  operators?: { key_id: string; public_key?: string; jwk?: PublicJwk }[];
  leeway_seconds?: number;
  hold_ttl_seconds?: number;
  cache_capacity?: number;
  max_holds?: number;
  checkpoints?: JsonValue;
  /** Take attestation chain heads from the state store: replicas sharing Redis write one chain. */
  shared_chains?: boolean;
  /** Node only: share caps, nonces, holds' spend and chain heads through Redis (docs/redis.md). */
  redis?: { url: string; timeout_ms?: number; grace_seconds?: number; holds_per_counter?: number; max_idle?: number };
  heartbeat?: JsonValue;
}

export declare class Gate {
  /** options.log_path: append the attestation log to a file (Node only). */
  constructor(config: GateConfig | string, options?: { revocation?: RevocationList | object; log_path?: string });
  readonly gateId: string;
  /** Verify, enforce, attest. Synchronous (the hot path). */
  check(request: GateRequest | string, now?: Time | { now?: Time }): Decision;
  /** The whole pipeline, changing nothing. */
  dryRun(request: GateRequest | string, now?: Time | { now?: Time }): Decision;
  /** Many requests in order (Node: off the main thread). */
  checkManyAsync(requests: (GateRequest | string)[], now?: Time | { now?: Time }): Promise<(Decision | { error: ErrorData })[]>;
  denyHold(approval: Approval, now?: Time | { now?: Time }): Decision;
  pendingHolds(): Hold[];
  expireHolds(now?: Time | { now?: Time }): Hold[];
  heartbeat(at?: Time): void;
  readonly attestationKey: GateKey | null;
  /** The in-memory attestation log as JSON Lines (null with log_path). */
  exportLog(): string | null;
  readonly logLen: number;
  readonly cachedPassports: number;
}

/** Operator side: signs an approval of a hold. */
export declare function signApproval(key: SigningKey, params: { hold_id: string; request_digest: string; decision: 'approved' | 'denied'; operator_key_id: string; timestamp?: number }): Approval;
/** Agent side: the proof of possession (base64url) for a request carrying nonce and timestamp. */
export declare function signPop(agentKey: SigningKey, gateId: string, passportId: string, request: GateRequest): string;
/** The request digest the gate computes (hex SHA-256). */
export declare function requestDigest(gateId: string, passportId: string | null, request: GateRequest): string;

// ---- attestations --------------------------------------------------------------------------

/** A log's verification: a broken log is a report with `ok: false`, never a throw. */
export interface LogReport {
  ok: boolean;
  records: number;
  passports: number;
  first_error: { index: number; code: string; detail: string } | null;
}
export type LogSource = string | Uint8Array | Iterable<string | Uint8Array>;
/** Verifies an attestation log (JSON Lines as text, bytes or chunks), streaming. */
export declare function verifyLog(log: LogSource, gateKeys: GateKeys, options?: { checkpoints?: JsonValue[] }): LogReport;
/** verifyLog off the main thread (Node: the libuv pool). */
export declare function verifyLogAsync(log: LogSource, gateKeys: GateKeys, options?: { checkpoints?: JsonValue[] }): Promise<LogReport>;
/** Verifies one record's signature; returns the record. */
export declare function verifyAttestation(record: JsonInput, gateKeys: GateKeys): { [k: string]: JsonValue };
/** Verifies a checkpoint's signature; returns the checkpoint. */
export declare function verifyCheckpoint(checkpoint: JsonInput, gateKeys: GateKeys): { [k: string]: JsonValue };
