//! PROVISIONAL (replaced by the keys branch): the minimum the envelope module needs.
use crate::error::{Code, Error, Result};
use ed25519_dalek::Signer;

#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);
impl SigningKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);
impl PublicKey {
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let a: [u8; 32] = b
            .try_into()
            .map_err(|_| Error::new(Code::KeyMalformed, "len"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&a)
            .map(PublicKey)
            .map_err(|_| Error::new(Code::KeyMalformed, "not a point"))
    }
    pub fn verify_strict(&self, msg: &[u8], sig: &Signature) -> Result<()> {
        self.0
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.0))
            .map_err(|_| Error::new(Code::SignatureInvalid, "bad"))
    }
    pub fn to_base64(&self) -> String {
        crate::encoding::b64_std_encode(self.0.as_bytes())
    }
    pub fn bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
    pub fn to_base64url(&self) -> String {
        crate::encoding::b64url_encode(self.0.as_bytes())
    }
    pub fn to_jwk(&self) -> serde_json::Value {
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": self.to_base64url(), "kid": self.thumbprint()})
    }
    pub fn thumbprint(&self) -> String {
        use sha2::Digest;
        let c = format!(
            "{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{}\"}}",
            self.to_base64url()
        );
        crate::encoding::b64url_encode(&sha2::Sha256::digest(c.as_bytes()))
    }
    pub fn self_agent_id(&self) -> String {
        use sha2::Digest;
        let d = sha2::Sha256::digest(self.0.as_bytes());
        let s = crate::encoding::b64url_encode(&d);
        format!("agent_self_{}", &s[..32])
    }
    pub fn self_issuer_id(&self) -> String {
        use sha2::Digest;
        format!(
            "self:{}",
            crate::encoding::hex_encode(&sha2::Sha256::digest(self.0.as_bytes()))
        )
    }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature([u8; 64]);
impl From<[u8; 64]> for Signature {
    fn from(b: [u8; 64]) -> Self {
        Signature(b)
    }
}
impl Signature {
    pub fn bytes(&self) -> &[u8; 64] {
        &self.0
    }
    pub fn to_base64url(&self) -> String {
        crate::encoding::b64url_encode(&self.0)
    }
    pub fn from_bytes(b: &[u8; 64]) -> Self {
        Signature(*b)
    }
    pub fn to_base64(&self) -> String {
        crate::encoding::b64_std_encode(&self.0)
    }
}
