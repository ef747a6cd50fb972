//! Helpers shared by the crypto integration tests: hex, test data files, deterministic RNGs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha256};

/// Decodes lowercase or uppercase hex.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Decodes hex into a fixed-size array.
pub fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap()
}

/// Encodes bytes as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The path of a file under `testdata/`.
pub fn testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Reads and parses a JSON file under `testdata/`.
pub fn read_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(testdata(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A deterministic RNG for reproducible vectors (never for real keys): block i of the stream
/// is SHA-256(seed || i as u64 BE).
pub struct TestRng {
    seed: Vec<u8>,
    counter: u64,
    buf: Vec<u8>,
}

impl TestRng {
    /// A stream named by `seed`.
    pub fn new(seed: &[u8]) -> Self {
        Self {
            seed: seed.to_vec(),
            counter: 0,
            buf: Vec::new(),
        }
    }
}

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.buf.is_empty() {
                let block = Sha256::new()
                    .chain_update(&self.seed)
                    .chain_update(self.counter.to_be_bytes())
                    .finalize();
                self.counter += 1;
                self.buf = block.to_vec();
            }
            *byte = self.buf.remove(0);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TestRng {}

/// An RNG that yields exactly the given bytes, then panics: proves a KAT consumed exactly
/// its ephemeral input keying material.
pub struct ExactRng(pub Vec<u8>);

impl RngCore for ExactRng {
    fn next_u32(&mut self) -> u32 {
        panic!("ExactRng: next_u32 not expected")
    }
    fn next_u64(&mut self) -> u64 {
        panic!("ExactRng: next_u64 not expected")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(dest.len() <= self.0.len(), "ExactRng exhausted");
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ExactRng {}
