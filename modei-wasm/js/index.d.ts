// Types of pkg-*/index.mjs. Function signatures come from wasm-bindgen's `modei_wasm.d.ts`;
// this file adds the error classes (same as modei-node/index.d.ts).
export * from './modei_wasm';

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
