//! lyt: the relay of an anonymous, end-to-end encrypted counselling service.
//!
//! One binary relays end-to-end encrypted chats between anonymous visitors and on-duty
//! counsellors. See `docs/` and the README for the architecture; `Server::start` is the entry
//! point used by `lyt serve` and by the integration tests.

pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod http;
pub mod keytool;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod referral;
pub mod relay;
pub mod routing;
pub mod server;
pub mod stats;
pub mod store;
pub mod tls;
pub mod web;
pub mod webhook;

pub use config::Config;
pub use server::Server;
