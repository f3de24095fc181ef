//! The `:doctor` view's rows: one finding each (computed in
//! [`super::derive::refresh_doctor`] while the view is shown).

use serde::Serialize;

use super::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::doctor::Finding;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    #[serde(flatten)]
    pub finding: Finding,
    #[serde(skip)]
    search: String,
}

impl FindingRow {
    pub fn new(finding: Finding) -> FindingRow {
        let search = format!(
            "{} {} {} {} {}",
            finding.severity.as_str(),
            finding.code,
            finding.summary,
            finding.objects.join(" "),
            finding.evidence
        )
        .to_lowercase();
        FindingRow { finding, search }
    }
}

impl Searchable for FindingRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for FindingRow {
    type Key = String;
    fn key(&self) -> String {
        self.finding.key()
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn detail_title(&self) -> String {
        format!("{} {}", self.finding.severity.as_str(), self.finding.code)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        let f = &self.finding;
        vec![
            ("Severity", f.severity.as_str().into()),
            ("Code", f.code.into()),
            ("Summary", f.summary.clone()),
            ("Objects", f.objects.join("\n")),
            ("Evidence", f.evidence.clone()),
            ("Fix", f.remediation.into()),
        ]
    }
}

pub fn columns() -> Vec<Column<FindingRow>> {
    vec![
        Column {
            title: "SEVERITY",
            width: 8,
            priority: 0,
            cut: Cut::End,
            cell: |r, _| r.finding.severity.as_str().into(),
        },
        Column { title: "CODE", width: 26, priority: 0, cut: Cut::End, cell: |r, _| r.finding.code.into() },
        Column { title: "SUMMARY", width: 50, priority: 0, cut: Cut::End, cell: |r, _| r.finding.summary.clone() },
        Column {
            title: "OBJECTS",
            width: 40,
            priority: 2,
            cut: Cut::Middle,
            cell: |r, _| r.finding.objects.join(", "),
        },
    ]
}

/// What the console cannot examine (the CLI fetches these once).
pub const NOT_IN_CONSOLE: &str = "JetStream streams (JSZ) and the unauthenticated INFO: `warden doctor`";
