//! lyt: the relay of an anonymous, end-to-end encrypted counselling service.

pub mod crypto;
pub mod keytool;
