//! The lyt load generator: simulated visitors and counsellors that speak the real protocol
//! with real end-to-end crypto (`lyt::client`), and the same load against peers (Nchan,
//! socket.io) as 1:1 relays. See `docs/performance.md`.

pub mod lyt_driver;
pub mod orchestrate;
pub mod peers;
pub mod procmon;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod stats;
