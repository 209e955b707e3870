//! PROVISIONAL (replaced by the keys branch).
use crate::error::{Code, Error, Result};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
pub fn b64_std_encode(b: &[u8]) -> String {
    Base64::encode_string(b)
}
pub fn b64url_encode(b: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(b)
}
pub fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
pub fn decode_b64_std_fixed<const N: usize>(s: &str, what: &str, code: Code) -> Result<[u8; N]> {
    let v = Base64::decode_vec(s)
        .map_err(|_| Error::new(code, format!("{what}: not strict base64")))?;
    v.try_into()
        .map_err(|_| Error::new(code, format!("{what}: wrong length")))
}
