// The runtime's Wasm, which the chain spec carries and omni-node executes.
fn main() {
    #[cfg(feature = "std")]
    substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
