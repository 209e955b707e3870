// Public ESM entry of `modei-core`: re-exports the CommonJS entry (a .node file cannot be
// imported from ESM on Node 20). Keep this list equal to index.js's exports (a test checks it).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('./index.js');

export const {
  ModeiError, CanonicalizationError, ModeiKeyError, PassportError, TrustError, ConstraintError,
  AttestationError, CatalogError, StateError, InvalidInputError, FAMILY_CLASSES,
  version, errorCodes, __raiseForTest, canonicalize, contentHash, parseJson, SigningKey, PublicKey,
  verifySignature, loadCredentials, deriveIds, inspectPassport, verifyEnvelope, verifyDetached,
  selfIssuePassport, issuePassport, delegatePassport, TrustStore, RevocationList, Verifier, Gate,
  signApproval, signPop, requestDigest, verifyLog, verifyLogAsync, verifyAttestation,
  verifyCheckpoint, verifyLogFile, verifyLogFileAsync,
} = m;
export default m;
