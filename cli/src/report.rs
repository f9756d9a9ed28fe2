//! What a command prints: a few lines for people, or one JSON document with `--json`.

use dreamster_client::Submitted;
use serde_json::{json, Value};

pub struct Report {
    pub text: String,
    pub json: Value,
    /// The command ran but found a problem (an audit with differences): exit status 2.
    pub failed: bool,
}

impl Report {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        Report {
            text: text.into(),
            json,
            failed: false,
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json);
        } else {
            println!("{}", self.text);
        }
    }
}

/// Where a transaction landed, for the record (an auditor can look it up).
pub fn landed(s: &Submitted) -> Value {
    json!({ "block": s.block_number, "extrinsic": s.extrinsic_index, "block_hash": format!("{:?}", s.block_hash) })
}

pub fn landed_text(s: &Submitted) -> String {
    format!(
        "in block #{} (extrinsic {})",
        s.block_number, s.extrinsic_index
    )
}
