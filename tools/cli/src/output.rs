//! What the commands print: tables (comfy-table, markdown-style so they paste into an
//! issue), a job's status block, and progress bars that only draw on a terminal.

use comfy_table::{Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::fmt::Write as _;

/// A table with `header` over `rows`.
pub fn table<R: IntoIterator<Item = String>>(header: &[&str], rows: impl IntoIterator<Item = R>) -> String {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN).set_header(header.iter().copied());
    for row in rows {
        t.add_row(row);
    }
    let mut s = t.to_string();
    s.push('\n');
    s
}

/// A progress bar on stderr when `visible` (stderr is a terminal), else hidden.
pub fn bar(visible: bool, len: u64, template: &str) -> ProgressBar {
    let target = if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ");
    ProgressBar::with_draw_target(Some(len), target).with_style(style)
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// `succeeded/total succeeded, failed failed, …` of a `shards`/`reduce` count object.
fn counts(c: &Value) -> String {
    let mut s = format!("{}/{} succeeded, {} failed", n(&c["succeeded"]), n(&c["total"]), n(&c["failed"]));
    for extra in ["running", "pending"] {
        if n(&c[extra]) > 0 {
            let _ = write!(s, ", {} {extra}", n(&c[extra]));
        }
    }
    s
}

/// The state of a job as lines of `name  value`, then its errors as a table.
pub fn job(job: &Value) -> String {
    let mut s = String::new();
    let str_of = |k: &str| job[k].as_str().unwrap_or("?").to_owned();
    let _ = writeln!(s, "job      {}", str_of("id"));
    let _ = writeln!(s, "task     {}", str_of("task"));
    let _ = writeln!(s, "state    {}", str_of("state"));
    let _ = writeln!(s, "shards   {}", counts(&job["shards"]));
    if n(&job["reduce"]["total"]) > 0 {
        let _ = writeln!(s, "reduce   {}", counts(&job["reduce"]));
    }
    let items = &job["items"];
    let _ = writeln!(s, "items    {}/{} succeeded, {} failed", n(&items["succeeded"]), n(&items["total"]), n(&items["failed"]));
    let _ = writeln!(s, "created  {}", str_of("created"));
    let _ = writeln!(s, "updated  {}", str_of("updated"));
    if let Some(result) = job["result"].as_str() {
        let _ = writeln!(s, "result   {result}");
    }
    if let Some(errors) = job["errors"].as_array().filter(|e| !e.is_empty()) {
        s.push_str("errors\n");
        s.push_str(&table(
            &["shard", "phase", "status", "attempts", "detail"],
            errors.iter().map(|e| {
                let text = |k: &str| match &e[k] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                vec![text("shard"), text("phase"), text("status"), text("attempts"), text("detail")]
            }),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failed_job_shows_its_counts_and_each_error_with_its_detail() {
        let text = job(&json!({
            "id": "j1", "task": "aggregate", "state": "failed",
            "shards": {"total": 4, "succeeded": 3, "failed": 1, "pending": 0, "running": 0},
            "reduce": {"total": 0}, "items": {"total": 400, "succeeded": 300, "failed": 100},
            "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:01Z", "result": null,
            "errors": [{"shard": 2, "phase": "map", "status": 500, "attempts": 3, "detail": "chunk 1 is damaged"}],
        }));
        assert!(text.contains("state    failed\n"), "{text}");
        assert!(text.contains("shards   3/4 succeeded, 1 failed\n"), "{text}");
        assert!(text.contains("items    300/400 succeeded, 100 failed\n"), "{text}");
        assert!(!text.contains("reduce") && !text.contains("result "), "{text}");
        assert!(text.lines().any(|l| l.contains("| 2 ") && l.contains("| map ") && l.contains("| chunk 1 is damaged")), "{text}");
    }

    #[test]
    fn tables_align_their_columns() {
        let t = table(&["file", "id"], [vec!["a.jpg".to_owned(), "1".to_owned()], vec!["long-name.png".to_owned(), "22".to_owned()]]);
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert_eq!(widths.len(), 4, "{t}");
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
    }
}
