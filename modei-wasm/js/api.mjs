// The public API of modei-wasm, shared by both builds (copied into pkg-node/ and pkg-web/ by
// build.sh next to wasm-bindgen's `modei_wasm.js`). Every native export goes through `wrap` so
// errors are ModeiError subclasses. Adding a Rust function: one line here.
import * as raw from './modei_wasm.js';
import { wrap } from './errors.mjs';

export {
  ModeiError, CanonicalizationError, ModeiKeyError, PassportError, TrustError, ConstraintError,
  AttestationError, CatalogError, StateError, InvalidInputError, FAMILY_CLASSES,
} from './errors.mjs';

export const version = wrap(raw.version);
export const errorCodes = wrap(raw.errorCodes);
/** Test hook: always throws the error for `code`. Not part of the API. */
export const __raiseForTest = wrap(raw.__raiseForTest);
