//! Amounts and times as people type and read them (defined once, in the client).

pub use dreamster_client::units::*;
