//! What an action did, step by step, in both authorization modes: shown as
//! it happens (the console's progress dialog), printed by the CLI, and
//! appended to the audit log.

use anyhow::anyhow;
use serde::Serialize;

/// One part of an action and how it went (`Ok(detail)` / `Err(reason)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub step: String,
    pub result: Result<String, String>,
}

impl Step {
    pub fn ok(step: impl Into<String>, detail: impl Into<String>) -> Step {
        Step { step: step.into(), result: Ok(detail.into()) }
    }
    pub fn err(step: impl Into<String>, why: impl Into<String>) -> Step {
        Step { step: step.into(), result: Err(why.into()) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub target: String,
    pub steps: Vec<Step>,
}

impl ActionReport {
    pub fn new(action: &str, target: &str) -> ActionReport {
        ActionReport { action: action.into(), target: target.into(), steps: Vec::new() }
    }
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.result.is_ok())
    }
    /// "ok", "partial" (some steps failed), "failed" (none succeeded) or
    /// "interrupted" (stopped before its end: cancelled, or the console quit).
    pub fn outcome(&self) -> &'static str {
        if self.steps.last().is_some_and(|s| s.step == INTERRUPTED && s.result.is_err()) {
            return "interrupted";
        }
        match (self.steps.iter().filter(|s| s.result.is_ok()).count(), self.steps.len()) {
            (_, 0) => "failed",
            (ok, n) if ok == n => "ok",
            (0, _) => "failed",
            _ => "partial",
        }
    }
    /// Human lines, one per step.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| match &s.result {
                Ok(d) => format!("ok    {}: {d}", s.step),
                Err(e) => format!("FAIL  {}: {e}", s.step),
            })
            .collect()
    }
}

/// Runs one part of an action with a deadline; the error names the step
/// (`spire-server entry create: no answer within 20s`).
pub async fn within<T>(
    step: &str,
    limit: std::time::Duration,
    fut: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(|e| e.context(step.to_string())),
        Err(_) => Err(anyhow!("{step}: no answer within {limit:?}")),
    }
}

/// The step that ends an action stopped before its end.
pub const INTERRUPTED: &str = "interrupted";

/// The last step of an action stopped for `why` after `done`: it names the
/// steps that were done (and stay done: nothing is rolled back).
pub fn interrupted(why: &str, done: &[Step]) -> Step {
    let names: Vec<&str> = done.iter().filter(|s| s.result.is_ok()).map(|s| s.step.as_str()).collect();
    let done = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    Step::err(INTERRUPTED, format!("{why}; steps done before it stopped: {done} (they are not undone)"))
}

/// Collects an action's steps and shows each as it happens (both modes).
pub struct Recorder<'a> {
    pub report: ActionReport,
    pub progress: &'a mut (dyn FnMut(&Step) + Send),
}

impl Recorder<'_> {
    pub fn push(&mut self, s: Step) {
        (self.progress)(&s);
        self.report.steps.push(s);
    }
    pub fn ok(&mut self, step: &str, detail: impl Into<String>) {
        self.push(Step::ok(step, detail));
    }
    pub fn err(&mut self, step: &str, e: impl std::fmt::Display) {
        self.push(Step::err(step, e.to_string()));
    }
    /// Records a failed step and returns an error that stops the action.
    pub fn fail(&mut self, step: &str, e: impl std::fmt::Display) -> anyhow::Error {
        self.err(step, e);
        anyhow!("{step} failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_step_past_its_deadline_is_an_error_naming_it() {
        let e = within("reload n1", Duration::from_millis(20), std::future::pending::<anyhow::Result<()>>())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "reload n1: no answer within 20ms");
        let e = within("write ConfigMap", Duration::from_secs(1), async { Err::<(), _>(anyhow!("409 Conflict")) })
            .await
            .unwrap_err();
        assert_eq!(format!("{e:#}"), "write ConfigMap: 409 Conflict");
        assert_eq!(within("x", Duration::from_secs(1), async { Ok(7) }).await.unwrap(), 7);
    }

    #[test]
    fn an_interrupted_report_names_the_steps_done() {
        let mut r = ActionReport::new("grant", "shop/cart publish x");
        r.steps.push(Step::ok("authorization ConfigMap", "updated"));
        r.steps.push(Step::err("servers", "none"));
        let st = interrupted("the console quit", &r.steps);
        r.steps.push(st);
        assert_eq!(r.outcome(), "interrupted");
        let last = r.steps.last().unwrap().result.clone().unwrap_err();
        assert!(last.starts_with("the console quit; steps done before it stopped: authorization ConfigMap"), "{last}");
        assert_eq!(
            interrupted("x", &[]).result.unwrap_err(),
            "x; steps done before it stopped: none (they are not undone)"
        );
    }
}
