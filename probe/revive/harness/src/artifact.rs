//! A compiled contract as cargo-contract 6 wrote it: its PolkaVM blob and its messages'
//! selectors (from the metadata beside it), shared by the in-process harness and the node
//! driver so both send the very same bytes.
use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use codec::Encode;

/// A compiled contract: its PolkaVM blob and its messages' selectors, from the metadata
/// cargo-contract wrote beside it.
pub struct Artifact {
    pub name: String,
    pub blob: Vec<u8>,
    selectors: HashMap<String, [u8; 4]>,
}

impl Artifact {
    pub fn load(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let blob = std::fs::read(dir.join(format!("{name}.polkavm")))
            .with_context(|| format!("reading {name}.polkavm in {}", dir.display()))?;
        let metadata: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{name}.json")))
                .with_context(|| format!("reading {name}.json"))?,
        )?;
        let mut selectors = HashMap::new();
        for kind in ["constructors", "messages"] {
            for item in metadata["spec"][kind].as_array().into_iter().flatten() {
                let label = item["label"].as_str().ok_or_else(|| anyhow!("a label"))?;
                let hex = item["selector"]
                    .as_str()
                    .ok_or_else(|| anyhow!("a selector"))?;
                let bytes = u32::from_str_radix(hex.trim_start_matches("0x"), 16)?.to_be_bytes();
                selectors.insert(label.to_string(), bytes);
            }
        }
        Ok(Self {
            name: name.to_string(),
            blob,
            selectors,
        })
    }

    pub fn input(&self, label: &str, args: impl Encode) -> Vec<u8> {
        let selector = self
            .selectors
            .get(label)
            .unwrap_or_else(|| panic!("{} has no message {label}", self.name));
        let mut input = selector.to_vec();
        args.encode_to(&mut input);
        input
    }

    /// The names of the host functions the blob imports: what pallet-revive checks at upload.
    pub fn imports(&self) -> anyhow::Result<Vec<String>> {
        let blob = polkavm::ProgramBlob::parse(self.blob.clone().into())
            .map_err(|e| anyhow!("{} does not parse as a PolkaVM blob: {e}", self.name))?;
        let mut names: Vec<String> = blob
            .imports()
            .iter()
            .flatten()
            .map(|symbol| String::from_utf8_lossy(symbol.as_bytes()).into_owned())
            .collect();
        names.sort();
        Ok(names)
    }
}
