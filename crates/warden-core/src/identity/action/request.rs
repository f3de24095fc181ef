//! What every action request answers, whatever its mode: the console's
//! dialogs, the CLI and the audit log ask these questions.

/// An action request of either mode.
pub trait ActionRequest {
    /// `register`, `approve`, ... (the audit log's `action`).
    fn verb(&self) -> &'static str;
    /// What it acts on, in words (`ns/workload`, `ns/workload publish x.y`).
    fn target(&self) -> String;
    /// Takes access away (revoke, deny, ungrant): asks first, Cancel default.
    fn is_destructive(&self) -> bool;
}
