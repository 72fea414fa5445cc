//! The report as text: one table per variant family, then false duplicates and the
//! threshold sweep.

use std::fmt;

use crate::metrics::{Report, Row};

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} photos, {} dims, duplicate threshold {}",
            self.photos, self.dims, self.threshold
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| family | variant | queries | recall@1 | recall@5 | mAP | min score | >= threshold | target r@1 |"
        )?;
        writeln!(f, "|---|---|---:|---:|---:|---:|---:|---:|---|")?;
        for family in &self.families {
            for v in self.variants.iter().filter(|v| v.family == family.family) {
                row(f, v)?;
            }
            row(f, family)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "false duplicates at {}: {} of {} distinct pairs = {:.4} (target <= 0.01); max distinct score {:.4}",
            self.threshold,
            self.false_duplicates,
            self.distinct_pairs,
            self.false_duplicate_rate(),
            self.max_distinct_score
        )?;
        writeln!(f, "lowest own-original score per family:")?;
        for r in &self.families {
            if let Some(i) = r.worst_photo {
                writeln!(
                    f,
                    "  {:<10} {:.4}  {}",
                    r.family.name(),
                    r.min_score,
                    self.name(i)
                )?;
            }
        }
        if !self.closest_pairs.is_empty() {
            writeln!(f, "closest distinct pairs:")?;
            for &(a, b, s) in &self.closest_pairs {
                writeln!(f, "  {s:.4}  {}  ~  {}", self.name(a), self.name(b))?;
            }
        }
        writeln!(
            f,
            "threshold sweep (false-duplicate rate / same-image variants at or above):"
        )?;
        for chunk in self.sweep.chunks(5) {
            let line: Vec<String> = chunk
                .iter()
                .map(|(t, fd, above)| format!("{t:.2}: {fd:.4} / {above:.3}"))
                .collect();
            writeln!(f, "  {}", line.join("   "))?;
        }
        if let Some(blocks) = &self.blocks {
            writeln!(
                f,
                "mean cosine of each block alone (variants vs their original; distinct pairs):"
            )?;
            write!(f, "| |")?;
            for name in &blocks.names {
                write!(f, " {name} |")?;
            }
            writeln!(f)?;
            writeln!(f, "|---|{}", "---:|".repeat(blocks.names.len()))?;
            for (family, means) in &blocks.variants {
                cells(f, family.name(), means)?;
            }
            cells(f, "distinct mean", &blocks.distinct_mean)?;
            cells(f, "distinct max", &blocks.distinct_max)?;
        }
        let misses = self.misses();
        if misses.is_empty() {
            writeln!(f, "targets: all met")
        } else {
            writeln!(f, "targets missed: {}", misses.join("; "))
        }
    }
}

impl Report {
    fn name(&self, i: usize) -> String {
        self.names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    }
}

fn row(f: &mut fmt::Formatter<'_>, r: &Row) -> fmt::Result {
    let (family, variant) = match r.variant {
        Some(v) => ("", v.to_string()),
        None => (r.family.name(), "**all**".to_string()),
    };
    let target = match (r.variant, r.family.target_recall_at_1()) {
        (None, Some(t)) if r.recall_at_1 >= t => format!(">= {t} ok"),
        (None, Some(t)) => format!(">= {t} MISSED"),
        (None, None) => "(reported only)".into(),
        (Some(_), _) => String::new(),
    };
    writeln!(
        f,
        "| {family} | {variant} | {} | {:.3} | {:.3} | {:.3} | {:.4} | {:.3} | {target} |",
        r.queries, r.recall_at_1, r.recall_at_5, r.map, r.min_score, r.above_threshold
    )
}

fn cells(f: &mut fmt::Formatter<'_>, label: &str, values: &[f32]) -> fmt::Result {
    write!(f, "| {label} |")?;
    for v in values {
        write!(f, " {v:.3} |")?;
    }
    writeln!(f)
}
