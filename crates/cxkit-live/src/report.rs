//! What a live check found, per operation, and its markdown summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::Issue;

/// The outcome for one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The route answered 2xx and the body decodes per the spec.
    Ok,
    /// 404 or 405: the path (or method) is not there.
    RouteNotFound,
    /// 2xx, but the body does not match the response schema.
    DecodeMismatch,
    /// 401 or 403.
    Forbidden,
    /// Another status, or the request failed.
    Error,
    /// Not called (see the reason).
    Skipped,
}

/// One operation's line in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationReport {
    /// The spec file, relative to the workspace root.
    pub spec: String,
    /// The `operationId`.
    pub operation_id: String,
    /// `GET`.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The outcome.
    pub outcome: Outcome,
    /// The path actually requested (ids filled in), when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The HTTP status, when one came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Deviations that break decoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
    /// JSON paths of fields the schema does not document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undocumented_fields: Vec<String>,
}

/// A live check's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The system checked.
    pub system: String,
    /// The base URL checked.
    pub base_url: String,
    /// The date of the check.
    pub date: String,
    /// One entry per GET operation of the specs, in the order they were checked.
    pub operations: Vec<OperationReport>,
}

impl Report {
    /// How many operations had each outcome.
    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for op in &self.operations {
            *counts.entry(op.outcome).or_default() += 1;
        }
        counts
    }

    /// A markdown summary for a curator.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# Live check: {} at {} ({})\n\n| outcome | operations |\n|---|---|\n",
            self.system, self.base_url, self.date
        );
        for (outcome, n) in self.counts() {
            out.push_str(&format!("| {} | {n} |\n", outcome_name(outcome)));
        }
        out.push_str("\n| operation | path | outcome | details |\n|---|---|---|---|\n");
        for op in &self.operations {
            let mut details: Vec<String> = Vec::new();
            if let Some(status) = op.status {
                details.push(format!("HTTP {status}"));
            }
            if let Some(reason) = &op.reason {
                details.push(reason.clone());
            }
            for i in &op.issues {
                details.push(format!("`{}` {:?}: {}", i.path, i.kind, i.detail));
            }
            if !op.undocumented_fields.is_empty() {
                details.push(format!(
                    "undocumented: {}",
                    op.undocumented_fields
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                op.operation_id,
                op.path,
                outcome_name(op.outcome),
                details.join("; ").replace('|', "\\|")
            ));
        }
        out.push_str(&format!(
            "\nApply with `cargo xtask verify-live --apply target/verify-live/{}-{}.json` (marks the ok operations `x-cxkit-verified: '{}'`).\n",
            self.system, self.date, self.date
        ));
        out
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::RouteNotFound => "route not found",
        Outcome::DecodeMismatch => "decode mismatch",
        Outcome::Forbidden => "forbidden",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}
