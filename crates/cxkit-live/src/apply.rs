//! `--apply`: the `ok` operations marked `x-cxkit-verified` in their spec files.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;

use crate::{Outcome, Report};

/// What [`apply()`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Operations newly marked or re-dated.
    pub marked: Vec<String>,
    /// `ok` operations whose `operationId` line was not found (spec changed since the check).
    pub not_found: Vec<String>,
}

/// Marks every `ok` operation of `report` as `x-cxkit-verified: '<date>'` in its spec file,
/// right under its `operationId:` line (replacing an earlier date there). Nothing else in the
/// file changes.
pub fn apply(root: &Path, report: &Report) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    let mut by_spec: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for op in report
        .operations
        .iter()
        .filter(|op| op.outcome == Outcome::Ok)
    {
        by_spec.entry(&op.spec).or_default().push(&op.operation_id);
    }
    for (spec, ids) in by_spec {
        let path = root.join(spec);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for id in ids {
            let Some(at) = lines
                .iter()
                .position(|l| l.trim() == format!("operationId: {id}"))
            else {
                applied.not_found.push(format!("{spec}: {id}"));
                continue;
            };
            let indent = &lines[at][..lines[at].len() - lines[at].trim_start().len()];
            let marker = format!("{indent}x-cxkit-verified: '{}'", report.date);
            // An earlier mark sits right below the id (where this function puts it).
            if lines
                .get(at + 1)
                .is_some_and(|l| l.trim_start().starts_with("x-cxkit-verified:"))
            {
                lines[at + 1] = marker;
            } else {
                lines.insert(at + 1, marker);
            }
            applied.marked.push(format!("{spec}: {id}"));
        }
        let mut out = lines.join("\n");
        if text.ends_with('\n') {
            out.push('\n');
        }
        if out != text {
            std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(applied)
}
