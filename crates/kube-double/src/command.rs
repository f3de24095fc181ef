//! An exec'd command and its result, as the double's command emulations
//! (the spire-server CLI, test handlers) see them.

use std::sync::Arc;

/// One exec call, as seen by an [`ExecHandler`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExecRequest {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// What a command printed and its exit code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
}

/// A pluggable command answerer, tried before the spire-server emulation.
pub type ExecHandler = Arc<dyn Fn(&ExecRequest) -> Option<ExecOutput> + Send + Sync>;
