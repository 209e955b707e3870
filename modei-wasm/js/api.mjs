// The public API of modei-wasm, shared by both builds (copied into pkg-node/ and pkg-web/ by
// build.sh next to wasm-bindgen's `modei_wasm.js`). The shaping is modei-node's shape.js
// (build.sh writes it here as shape.mjs), so Node and WASM have the same API to the letter.
import * as raw from './modei_wasm.js';
import * as errors from './errors.mjs';
import { makeApi } from './shape.mjs';

export {
  ModeiError, CanonicalizationError, ModeiKeyError, PassportError, TrustError, ConstraintError,
  AttestationError, CatalogError, StateError, InvalidInputError, FAMILY_CLASSES,
} from './errors.mjs';

// No clock on wasm32-unknown-unknown: "now" defaults to Date.now(). wasm-bindgen moves class
// arguments, so handles are passed as shared copies (`_share()`: the same store, not a copy).
const api = makeApi(raw, errors, { now: () => Date.now(), handle: (h) => h._share() });

export const {
  version, errorCodes, __raiseForTest, canonicalize, contentHash, parseJson, SigningKey, PublicKey,
  verifySignature, loadCredentials, deriveIds, inspectPassport, verifyEnvelope, verifyDetached,
  selfIssuePassport, issuePassport, delegatePassport, TrustStore, RevocationList, Verifier, Gate,
  signApproval, signPop, requestDigest, verifyLog, verifyLogAsync, verifyAttestation,
  verifyCheckpoint,
} = api;
