//! `render::plan` against sharp: for every row of `data/sharp_dims.json` (made by
//! `scripts/render-ref/sharp-dims.mjs` with sharp's own `resize`), the planned output
//! size must equal sharp's. Covers fit x enlarge x one/two-sided box x dpr x source
//! aspect, with and without a crop.

use render::{Presets, RenderOptions};
use serde_json::Value;

#[test]
fn plan_matches_sharp_for_every_row() {
    let table: Value = serde_json::from_str(include_str!("data/sharp_dims.json")).unwrap();
    let rows = table["rows"].as_array().unwrap();
    assert!(rows.len() > 1000, "the table has {} rows", rows.len());
    let presets = Presets::builtin();
    let mut mismatches = Vec::new();
    for row in rows {
        let n = |v: &Value| v.as_u64().map(|v| v as u32);
        let (sw, sh) = (n(&row["src"][0]).unwrap(), n(&row["src"][1]).unwrap());
        let mut query = format!(
            "fit={}&enlarge={}&dpr={}",
            row["fit"].as_str().unwrap(),
            u8::from(row["enlarge"].as_bool().unwrap()),
            row["dpr"]
        );
        if let Some(w) = n(&row["w"]) {
            query += &format!("&w={w}");
        }
        if let Some(h) = n(&row["h"]) {
            query += &format!("&h={h}");
        }
        if let Some(c) = row["crop"].as_array() {
            let c: Vec<String> = c.iter().map(|v| v.to_string()).collect();
            query += &format!("&crop={}", c.join(","));
        }
        let opts = RenderOptions::parse(&query, &presets).unwrap();
        let plan = render::plan(&opts, sw, sh).unwrap();
        let want = (n(&row["out"][0]).unwrap(), n(&row["out"][1]).unwrap());
        if (plan.width, plan.height) != want {
            mismatches.push(format!(
                "{sw}x{sh} {query}: plan {}x{}, sharp {}x{}",
                plan.width, plan.height, want.0, want.1
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} rows differ from sharp, e.g.:\n{}",
        mismatches.len(),
        rows.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
