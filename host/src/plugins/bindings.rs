//! Host-side bindings generated from `wit/`, the one source of the contract.
//!
//! Only `plugins/` sees these types; the rest of the host speaks the types in
//! `capabilities::types` and `plugins::verdict`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "judge-and-hints",
    // Capabilities are async (they talk to runtimes) and may trap (limits).
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::exports::proctor::plugin::{grader, hinter};
pub use self::proctor::plugin::{environment, types};
