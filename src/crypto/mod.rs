//! End-to-end cryptography of PROTOCOL.md §1, §2 and §4: certificates, the Noise NK session,
//! application padding and sealed envelopes. Pure functions and types, no I/O.
