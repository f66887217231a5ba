//! Write judges and hint providers for Proctor.
//!
//! A **judge** grades one task of a learner's session: it looks at the
//! learner's machines through capabilities (run commands, read files, build
//! and run images) and answers with a [`Verdict`] of checks. A **hint
//! provider** suggests what to try next, more specifically with each failed
//! attempt. Both compile to a WebAssembly component that the Proctor host
//! runs in a sandbox.
//!
//! # A complete judge
//!
//! This judge runs two commands at once and reads a file:
//!
//! ```no_run
//! use proctor_sdk::{Error, Judge, Task, Verdict, export, run_all};
//!
//! struct FirstSteps;
//!
//! impl Judge for FirstSteps {
//!     fn check(task: &Task) -> Result<Verdict, Error> {
//!         let m = task.machine();
//!         let mut v = Verdict::new();
//!         // Both commands run concurrently: one round trip, not two.
//!         let out = run_all([m.command(["id", "-u", "learner"]), m.script("test -d ~/projects")]);
//!         let user = out[0].as_ref().is_ok_and(|o| o.success());
//!         v.check("user_exists", user, if user { "learner exists" } else { "no user learner" })
//!             .hint("Create the user with `useradd -m learner`.");
//!         let dir = out[1].as_ref().is_ok_and(|o| o.success());
//!         v.check("projects_dir", dir, if dir { "~/projects exists" } else { "~/projects is missing" })
//!             .hint("Make the directory with `mkdir ~/projects`.");
//!         let motd = m.read_to_string("/etc/motd")?;
//!         v.check("motd_greets", motd.contains("Welcome"), "the message of the day greets learners")
//!             .hint("Write `Welcome` into /etc/motd.");
//!         Ok(v)
//!     }
//! }
//!
//! export!(judge: FirstSteps);
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release` (the crate is
//! a `cdylib`), or `proctor judge build <lab>` inside the Proctor workspace,
//! and try it offline with `proctor judge run <file.wasm> --task <id>
//! --fixture <answers.json>`.
//!
//! # Errors
//!
//! Capability calls return [`Error`]. Propagating one with `?` ends the check
//! with a `not-gradable` verdict that names the error: a broken environment
//! is not the learner's fault. A capability the lab does not grant answers
//! [`Error::Denied`].
//!
//! # Limits
//!
//! The host bounds each call: wall time, instructions, memory, capability
//! calls, bytes received, and output written. A judge that breaks a limit
//! gets an `error` verdict naming it; see the lab's `limits`.

#![deny(missing_docs)]

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings;
pub mod dockerfile;
mod error;
mod image;
pub mod log;
mod task;
mod verdict;

pub use error::Error;
pub use image::{BuildReport, Container, ContainerStart, HttpResponse, Image, ImageBuild};
pub use task::{Command, DEFAULT_READ_CAP, FileContent, Machine, Output, Task, run_all};
pub use verdict::{Check, Hint, Metric, Verdict};

/// A judge: grades a task.
pub trait Judge {
    /// Grades `task`. An `Err` becomes a `not-gradable` verdict naming it.
    fn check(task: &Task) -> Result<Verdict, Error>;
}

/// A hint provider: suggests what to try next.
pub trait HintProvider {
    /// A hint for `task`, given how many checks the learner has run on it
    /// and the last verdict; `None` when there is nothing to add.
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint>;
}

/// Exports a judge, a hint provider, or both, from this crate's component.
///
/// ```ignore
/// proctor_sdk::export!(judge: MyJudge);
/// proctor_sdk::export!(hints: MyHints);
/// proctor_sdk::export!(judge: MyJudge, hints: MyHints);
/// ```
///
/// The plugin's name and version are the crate's (`CARGO_PKG_NAME`,
/// `CARGO_PKG_VERSION`); add `version: "1.2.3"` (any constant `&str`
/// expression) to override the version. Use it once per crate.
#[macro_export]
macro_rules! export {
    (judge: $judge:ty, hints: $hints:ty $(, version: $version:expr)? $(,)?) => {
        $crate::__proctor_identity!($($version)?);
        #[doc(hidden)]
        type __ProctorExport = $crate::__private::JudgeAndHints<$judge, $hints, __ProctorIdentity>;
        // Exports exist only in the component; native builds (unit tests of
        // the judge's logic) get none, so their cdylib links.
        #[cfg(target_arch = "wasm32")]
        $crate::__private::judge_world::__proctor_export_judge_world!(__ProctorExport with_types_in $crate::__private::judge_world);
        #[cfg(target_arch = "wasm32")]
        $crate::__private::hints_world::__proctor_export_hints_world!(__ProctorExport with_types_in $crate::__private::hints_world);
    };
    (judge: $judge:ty $(, version: $version:expr)? $(,)?) => {
        $crate::__proctor_identity!($($version)?);
        #[doc(hidden)]
        type __ProctorExport = $crate::__private::JudgeOnly<$judge, __ProctorIdentity>;
        // Exports exist only in the component; native builds (unit tests of
        // the judge's logic) get none, so their cdylib links.
        #[cfg(target_arch = "wasm32")]
        $crate::__private::judge_world::__proctor_export_judge_world!(__ProctorExport with_types_in $crate::__private::judge_world);
    };
    (hints: $hints:ty $(, version: $version:expr)? $(,)?) => {
        $crate::__proctor_identity!($($version)?);
        #[doc(hidden)]
        type __ProctorExport = $crate::__private::HintsOnly<$hints, __ProctorIdentity>;
        #[cfg(target_arch = "wasm32")]
        $crate::__private::hints_world::__proctor_export_hints_world!(__ProctorExport with_types_in $crate::__private::hints_world);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __proctor_identity {
    () => {
        $crate::__proctor_identity!(env!("CARGO_PKG_VERSION"));
    };
    ($version:expr) => {
        #[doc(hidden)]
        pub struct __ProctorIdentity;
        // On native targets nothing is exported; name the entry points so the
        // judge's types count as used there too.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __proctor_entry_points() -> &'static str {
            let _ = ::core::marker::PhantomData::<__ProctorExport>;
            <__ProctorIdentity as $crate::__private::Identity>::NAME
        }
        impl $crate::__private::Identity for __ProctorIdentity {
            const NAME: &'static str = env!("CARGO_PKG_NAME");
            const VERSION: &'static str = $version;
        }
    };
}

/// The glue between the curated API and the generated bindings; used by
/// [`export!`] only.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    pub use crate::bindings::{hints_world, judge_world};
    use crate::{
        HintProvider, Judge, Task, Verdict,
        bindings::{
            hints_world::exports::proctor::plugin as hints_only,
            judge_world::exports::proctor::plugin as judge_only,
            types as wit,
        },
    };

    /// The plugin's name and version, from the crate that exports it.
    pub trait Identity {
        const NAME: &'static str;
        const VERSION: &'static str;
    }

    pub struct JudgeOnly<J, I>(PhantomData<(J, I)>);
    pub struct HintsOnly<H, I>(PhantomData<(H, I)>);
    pub struct JudgeAndHints<J, H, I>(PhantomData<(J, H, I)>);

    fn info<I: Identity>() -> wit::PluginInfo {
        wit::PluginInfo { name: I::NAME.replace('_', "-"), version: I::VERSION.to_owned() }
    }

    fn check<J: Judge>(task: wit::Task) -> wit::Verdict {
        match J::check(&Task::from(task)) {
            Ok(v) => v.into(),
            Err(e) => Verdict::not_gradable(format!("the judge could not inspect the environment: {e}")).into(),
        }
    }

    fn suggest<H: HintProvider>(task: wit::Task, attempts: u32, last: Option<wit::Verdict>) -> Option<wit::Hint> {
        let last = last.map(Verdict::from);
        H::hint(&Task::from(task), attempts, last.as_ref()).map(|h| wit::Hint { text: h.text, level: h.level })
    }

    impl<J: Judge, I: Identity> judge_only::grader::Guest for JudgeOnly<J, I> {
        fn info() -> wit::PluginInfo {
            info::<I>()
        }
        fn check(task: wit::Task) -> wit::Verdict {
            check::<J>(task)
        }
    }

    impl<H: HintProvider, I: Identity> hints_only::hinter::Guest for HintsOnly<H, I> {
        fn info() -> wit::PluginInfo {
            info::<I>()
        }
        fn suggest(task: wit::Task, attempts: u32, last: Option<wit::Verdict>) -> Option<wit::Hint> {
            suggest::<H>(task, attempts, last)
        }
    }

    impl<J: Judge, H, I: Identity> judge_only::grader::Guest for JudgeAndHints<J, H, I> {
        fn info() -> wit::PluginInfo {
            info::<I>()
        }
        fn check(task: wit::Task) -> wit::Verdict {
            check::<J>(task)
        }
    }

    impl<J, H: HintProvider, I: Identity> hints_only::hinter::Guest for JudgeAndHints<J, H, I> {
        fn info() -> wit::PluginInfo {
            info::<I>()
        }
        fn suggest(task: wit::Task, attempts: u32, last: Option<wit::Verdict>) -> Option<wit::Hint> {
            suggest::<H>(task, attempts, last)
        }
    }
}
