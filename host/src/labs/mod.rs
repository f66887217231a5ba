//! Labs: the scenario format (`scenarios/<lab>/lab.toml`, `steps/*.md`,
//! optional `setup.sh`, `solve.sh` and assets), loaded and validated into a
//! [`Lab`], with every problem reported by file, line and column.

pub mod catalog;
mod environment;
mod file;
pub mod import;
pub mod live;
mod load;
pub mod model;
pub mod problems;
pub mod scaffold;

pub use catalog::Catalog;
pub use live::LiveCatalog;
pub use load::load_lab;
pub use model::{Difficulty, FixtureCase, JudgeSpec, Lab, Machine, MachineImage, RuntimeKind, Task};
pub use problems::{InvalidLab, Problem};
