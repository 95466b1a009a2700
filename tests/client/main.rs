//! The HTTP layer and the client's handlers: transport, retries, errors, secrets, logs, TURN, apps, adapters, the generated bindings, the fault matrix and the fuzz seeds.
//!
//! One test binary for the area (`cargo test --test client`); each module was a binary of its own.

mod adapters;
mod apps;
mod fault_matrix;
mod fuzz_seeds;
mod generated_surface;
mod logs;
mod metrics;
mod predicates;
mod secrets;
#[path = "../support/mod.rs"]
mod support;
mod transport;
mod turn;
mod turn_keys;
mod turn_relay;
