//! What the test suites of several crates share. A dev-dependency only: nothing here reaches a
//! Lambda binary.

pub mod aws_calls;
pub mod iam_policy;
pub mod logs;
