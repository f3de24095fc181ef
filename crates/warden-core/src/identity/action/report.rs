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
    /// "ok", "partial" (some steps failed) or "failed" (none succeeded).
    pub fn outcome(&self) -> &'static str {
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
