//! Guest bindings generated from `wit/`. Hidden: authors use the curated API.
//!
//! One module per world, because a component exports only what its world
//! says; a component that is both a judge and a hint provider invokes both
//! worlds' export macros. The shared types and the `environment` imports are
//! generated once, in `judge_world`, and reused by `hints_world`.

/// The `judge` world: exports `grader`.
pub mod judge_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "judge",
        pub_export_macro: true,
        export_macro_name: "__proctor_export_judge_world",
        default_bindings_module: "proctor_sdk::__private::judge_world",
    });
}

/// The `hints` world: exports `hinter`.
pub mod hints_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hints",
        with: {
            "proctor:plugin/types@0.1.0": crate::bindings::judge_world::proctor::plugin::types,
            "proctor:plugin/environment@0.1.0": crate::bindings::judge_world::proctor::plugin::environment,
        },
        pub_export_macro: true,
        export_macro_name: "__proctor_export_hints_world",
        default_bindings_module: "proctor_sdk::__private::hints_world",
    });
}

pub use judge_world::proctor::plugin::{environment, types};
