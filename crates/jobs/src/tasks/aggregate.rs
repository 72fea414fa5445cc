//! `aggregate`: group-by with exact decimal sum, count, mean, min and max.
//!
//! A map shard folds its rows into per-group accumulators and splits the groups by key
//! hash into the job's reduce partitions; reduce partition p merges partition p of
//! every shard. Sums are `rust_decimal` (96-bit mantissa), so they are exact; the merge
//! adds exact partial sums, so the result does not depend on the sharding.

use crate::dataset::{ColumnType, Dataset, Rows};
use crate::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Sum,
    Count,
    Mean,
    Min,
    Max,
}

/// The params as the client sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub group_by: Vec<String>,
    pub values: BTreeMap<String, Vec<Op>>,
}

/// Params resolved against a dataset's columns.
#[derive(Debug, Clone)]
pub struct Aggregate {
    group_by: Vec<(String, usize)>,
    values: Vec<(String, usize, Vec<Op>)>,
}

pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["group_by", "values"],
        "properties": {
            "group_by": {"type": "array", "minItems": 1, "maxItems": 8, "items": {"type": "string"}, "description": "columns whose values form the group key"},
            "values": {
                "type": "object", "minProperties": 1, "maxProperties": 64,
                "description": "number column -> operations",
                "additionalProperties": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"enum": ["sum", "count", "mean", "min", "max"]}}
            }
        }
    })
}

impl Aggregate {
    pub fn new(params: &Value, ds: &Dataset) -> Result<Self> {
        let p: Params = serde_json::from_value(params.clone())
            .map_err(|e| Error::Invalid(format!("params: {e}")))?;
        if p.group_by.is_empty() || p.group_by.len() > 8 {
            return Err(Error::Invalid(
                "params.group_by: name 1 to 8 columns".into(),
            ));
        }
        if p.values.is_empty() || p.values.len() > 64 {
            return Err(Error::Invalid("params.values: name 1 to 64 columns".into()));
        }
        let column = |name: &str, at: &str| {
            ds.column(name)
                .map(|(i, c)| (i, c.kind))
                .ok_or_else(|| Error::Invalid(format!("{at}: the dataset has no column {name:?}")))
        };
        let mut group_by = Vec::new();
        for name in &p.group_by {
            if group_by.iter().any(|(n, _)| n == name) {
                return Err(Error::Invalid(format!(
                    "params.group_by: {name:?} is named twice"
                )));
            }
            group_by.push((name.clone(), column(name, "params.group_by")?.0));
        }
        let mut values = Vec::new();
        for (name, ops) in &p.values {
            let at = format!("params.values.{name}");
            let (i, kind) = column(name, &at)?;
            let mut sorted = ops.clone();
            sorted.sort();
            sorted.dedup();
            if ops.is_empty() || sorted.len() != ops.len() {
                return Err(Error::Invalid(format!(
                    "{at}: name each operation once, at least one"
                )));
            }
            if kind != ColumnType::Number && ops.iter().any(|op| *op != Op::Count) {
                return Err(Error::Invalid(format!(
                    "{at}: column {name:?} is not a number column"
                )));
            }
            values.push((name.clone(), i, ops.clone()));
        }
        Ok(Self { group_by, values })
    }

    /// Folds rows into per-group accumulators.
    pub fn mapper(&self) -> Mapper<'_> {
        Mapper {
            agg: self,
            groups: HashMap::new(),
            rows: 0,
            skipped: 0,
        }
    }

    /// Merges stored partials (one partition of every shard) into one partial.
    pub fn merge(&self, partials: impl IntoIterator<Item = Result<Vec<u8>>>) -> Result<Vec<u8>> {
        let mut merged: BTreeMap<Vec<String>, Vec<Acc>> = BTreeMap::new();
        for raw in partials {
            let groups: Vec<(Vec<String>, Vec<Acc>)> = serde_json::from_slice(&raw?)
                .map_err(|e| Error::corrupt("aggregate partial", e))?;
            for (key, accs) in groups {
                match merged.get_mut(&key) {
                    Some(have) => {
                        for (a, b) in have.iter_mut().zip(accs) {
                            a.merge(&b)?;
                        }
                    }
                    None => {
                        merged.insert(key, accs);
                    }
                }
            }
        }
        Ok(serde_json::to_vec(&merged.into_iter().collect::<Vec<_>>()).expect("serialises"))
    }

    /// The final output from the reduced partitions (disjoint key sets).
    pub fn finish(&self, parts: Vec<Vec<u8>>, rows: u64, skipped: u64) -> Result<Value> {
        let mut groups: Vec<(Vec<String>, Vec<Acc>)> = Vec::new();
        for raw in parts {
            let part: Vec<(Vec<String>, Vec<Acc>)> =
                serde_json::from_slice(&raw).map_err(|e| Error::corrupt("aggregate part", e))?;
            groups.extend(part);
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(key, accs)| {
                let mut obj = Map::new();
                let k: Map<String, Value> = self
                    .group_by
                    .iter()
                    .zip(key)
                    .map(|((n, _), v)| (n.clone(), Value::String(v)))
                    .collect();
                obj.insert("key".into(), Value::Object(k));
                for ((name, _, ops), acc) in self.values.iter().zip(accs) {
                    obj.insert(name.clone(), acc.output(ops));
                }
                Value::Object(obj)
            })
            .collect();
        Ok(json!({"rows": rows, "skipped": skipped, "groups": groups}))
    }

    /// The output as CSV: key columns, then `{column}_{op}` columns.
    pub fn to_csv(&self, output: &Value) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = self.group_by.iter().map(|(n, _)| n.clone()).collect();
        for (name, _, ops) in &self.values {
            header.extend(ops.iter().map(|op| format!("{name}_{}", op_name(*op))));
        }
        w.write_record(&header)
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        for g in output["groups"].as_array().into_iter().flatten() {
            let mut rec: Vec<String> = self
                .group_by
                .iter()
                .map(|(n, _)| g["key"][n].as_str().unwrap_or("").to_owned())
                .collect();
            for (name, _, ops) in &self.values {
                for op in ops {
                    rec.push(match &g[name][op_name(*op)] {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    });
                }
            }
            w.write_record(&rec)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
        }
        w.into_inner().map_err(|e| Error::Corrupt(e.to_string()))
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Sum => "sum",
        Op::Count => "count",
        Op::Mean => "mean",
        Op::Min => "min",
        Op::Max => "max",
    }
}

/// Per group and value column: count, exact sum, min, max.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Acc {
    count: u64,
    #[serde(with = "rust_decimal::serde::str")]
    sum: Decimal,
    #[serde(with = "rust_decimal::serde::str_option")]
    min: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    max: Option<Decimal>,
}

impl Acc {
    fn add(&mut self, v: Decimal) -> Result<()> {
        self.count += 1;
        self.sum = self.sum.checked_add(v).ok_or_else(overflow)?;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        Ok(())
    }

    fn merge(&mut self, o: &Acc) -> Result<()> {
        self.count += o.count;
        self.sum = self.sum.checked_add(o.sum).ok_or_else(overflow)?;
        self.min = match (self.min, o.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, o.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Ok(())
    }

    fn output(&self, ops: &[Op]) -> Value {
        let mut obj = Map::new();
        let dec = |d: Option<Decimal>| d.map_or(Value::Null, |d| Value::String(d.to_string()));
        for op in ops {
            let v = match op {
                Op::Sum => Value::String(self.sum.to_string()),
                Op::Count => json!(self.count),
                // The mean is a quotient, rounded to 12 places (half to even); sums stay exact.
                Op::Mean => dec((self.count > 0).then(|| {
                    (self.sum / Decimal::from(self.count))
                        .round_dp(12)
                        .normalize()
                })),
                Op::Min => dec(self.min),
                Op::Max => dec(self.max),
            };
            obj.insert(op_name(*op).into(), v);
        }
        Value::Object(obj)
    }
}

fn overflow() -> Error {
    Error::Invalid("a sum exceeds the exact decimal range (28 digits)".into())
}

/// A decimal from a number cell (`12.50`, `-3`, `1e3`).
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

/// Folds one shard's rows.
pub struct Mapper<'a> {
    agg: &'a Aggregate,
    groups: HashMap<Vec<String>, Vec<Acc>>,
    pub rows: u64,
    pub skipped: u64,
}

impl Mapper<'_> {
    /// Adds a row; a row with a value that is not a number is skipped (counted).
    pub fn row(&mut self, row: Rows<'_>) -> Result<()> {
        self.rows += 1;
        let mut parsed: [Option<Decimal>; 64] = [None; 64];
        for (slot, (_, i, _)) in parsed.iter_mut().zip(&self.agg.values) {
            let cell = row.get(*i).copied().unwrap_or("");
            if cell.is_empty() {
                continue;
            }
            match parse_decimal(cell) {
                Some(d) => *slot = Some(d),
                None => {
                    self.skipped += 1;
                    return Ok(());
                }
            }
        }
        let key: Vec<String> = self
            .agg
            .group_by
            .iter()
            .map(|(_, i)| row.get(*i).copied().unwrap_or("").to_owned())
            .collect();
        let accs = self
            .groups
            .entry(key)
            .or_insert_with(|| vec![Acc::default(); self.agg.values.len()]);
        for (acc, v) in accs.iter_mut().zip(parsed) {
            if let Some(v) = v {
                acc.add(v)?;
            }
        }
        Ok(())
    }

    /// The partials, one serialised sorted list per reduce partition.
    pub fn finish(self, partitions: u32) -> Vec<Vec<u8>> {
        let mut parts: Vec<Vec<(Vec<String>, Vec<Acc>)>> =
            vec![Vec::new(); partitions.max(1) as usize];
        for (key, accs) in self.groups {
            let p = (key_hash(&key) % u64::from(partitions.max(1))) as usize;
            parts[p].push((key, accs));
        }
        parts
            .into_iter()
            .map(|mut groups| {
                groups.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::to_vec(&groups).expect("serialises")
            })
            .collect()
    }
}

/// FNV-1a over the key's cells (0xff between cells: never inside UTF-8), the same on
/// every platform, so every shard sends a key to the same partition.
pub fn key_hash(key: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for cell in key {
        for &b in cell.as_bytes().iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}
