//! One finding of the doctor: a stable code, how bad it is, what it is about,
//! the evidence that shows it and what to do.

use serde::Serialize;

/// How bad a finding is; also the `warden check` state it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A kind of finding: its code never changes once released (monitoring
/// silences and runbooks refer to it), the remediation is one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub code: &'static str,
    pub severity: Severity,
    pub remediation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    /// One line: what is wrong, in the operator's words.
    pub summary: String,
    /// The objects involved (`server n1`, `account APP`, `ClusterSPIFFEID x`).
    pub objects: Vec<String>,
    /// What was seen that shows it (values as data, never secrets).
    pub evidence: String,
    pub remediation: &'static str,
    /// The site it was seen at, when several are watched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

impl Finding {
    pub fn new(code: &Code, summary: impl Into<String>, objects: Vec<String>, evidence: impl Into<String>) -> Finding {
        Finding {
            code: code.code,
            severity: code.severity,
            summary: summary.into(),
            objects,
            evidence: evidence.into(),
            remediation: code.remediation,
            site: None,
        }
    }

    /// The same finding with another severity (expiry: warning vs critical).
    pub fn with_severity(mut self, s: Severity) -> Finding {
        self.severity = s;
        self
    }

    /// A key that stays the same while the cause does (selection, dedup).
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.site.as_deref().unwrap_or(""), self.code, self.objects.join(","))
    }
}
