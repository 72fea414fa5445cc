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
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::{BufRead, Write};
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

    /// At most how many groups this can make of `ds`: its rows, or fewer when the upload
    /// estimated the key columns' distinct values.
    pub fn groups_bound(&self, ds: &Dataset) -> u64 {
        let estimates: Option<Vec<u64>> = self
            .group_by
            .iter()
            .map(|(_, i)| ds.distinct.get(*i).copied())
            .collect();
        match estimates {
            Some(estimates) => crate::dataset::distinct::combinations(estimates, ds.rows),
            None => ds.rows,
        }
    }

    /// Folds rows into per-group accumulators.
    pub fn mapper(&self) -> Mapper<'_> {
        Mapper {
            agg: self,
            groups: HashMap::default(),
            few: Vec::new(),
            key: Vec::new(),
            parsed: Vec::new(),
            min_max: self
                .values
                .iter()
                .any(|(_, _, ops)| ops.iter().any(|op| matches!(op, Op::Min | Op::Max))),
            rows: 0,
            skipped: 0,
        }
    }

    /// Merges partials of one partition (every shard's, each sorted by key) into `out`,
    /// a stream at a time: memory holds one group per shard, never the partition.
    pub fn merge<R: BufRead>(&self, partials: Vec<R>, out: &mut impl Write) -> Result<()> {
        for group in Merged::new(partials.into_iter().map(groups).collect()) {
            write_group(out, &group?)?;
        }
        Ok(())
    }

    /// The output from the reduced partitions (disjoint key sets, each sorted), produced
    /// in pieces so a result with a million groups is never held whole: JSON
    /// `{"rows", "skipped", "groups": [...]}`, or CSV (key columns, then
    /// `{column}_{op}` columns).
    pub fn output<R: BufRead>(
        self,
        parts: Vec<R>,
        rows: u64,
        skipped: u64,
        csv: bool,
    ) -> impl Iterator<Item = Result<Vec<u8>>> {
        let (head, tail) = if csv {
            (self.csv_header(), Vec::new())
        } else {
            let head = format!("{{\"rows\":{rows},\"skipped\":{skipped},\"groups\":[");
            (head.into_bytes(), b"]}".to_vec())
        };
        let groups = Merged::new(parts.into_iter().map(groups).collect())
            .enumerate()
            .map(move |(i, group)| {
                let (key, accs) = group?;
                if csv {
                    return Ok(self.csv_row(key, &accs));
                }
                let mut bytes = if i == 0 { Vec::new() } else { vec![b','] };
                serde_json::to_writer(&mut bytes, &self.group_json(key, &accs))
                    .expect("serialises");
                Ok(bytes)
            });
        batched(
            std::iter::once(Ok(head))
                .chain(groups)
                .chain(std::iter::once(Ok(tail))),
            PIECE_BYTES,
        )
    }

    fn group_json(&self, key: Vec<String>, accs: &[Acc]) -> Value {
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
    }

    fn csv_header(&self) -> Vec<u8> {
        let mut header: Vec<String> = self.group_by.iter().map(|(n, _)| n.clone()).collect();
        for (name, _, ops) in &self.values {
            header.extend(ops.iter().map(|op| format!("{name}_{}", op_name(*op))));
        }
        csv_record(&header)
    }

    fn csv_row(&self, key: Vec<String>, accs: &[Acc]) -> Vec<u8> {
        let mut rec = key;
        for ((_, _, ops), acc) in self.values.iter().zip(accs) {
            let out = acc.output(ops);
            for op in ops {
                rec.push(match &out[op_name(*op)] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                });
            }
        }
        csv_record(&rec)
    }
}

/// Bytes per piece of a streamed output.
const PIECE_BYTES: usize = 64 << 10;

/// `parts` gathered into pieces of at least `size` bytes (the last may be shorter); an
/// error is passed on and ends the output.
fn batched(
    mut parts: impl Iterator<Item = Result<Vec<u8>>>,
    size: usize,
) -> impl Iterator<Item = Result<Vec<u8>>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let mut piece = Vec::with_capacity(size + 1024);
        for part in parts.by_ref() {
            match part {
                Ok(bytes) => piece.extend(bytes),
                Err(e) => {
                    failed = true;
                    return Some(Err(e));
                }
            }
            if piece.len() >= size {
                return Some(Ok(piece));
            }
        }
        (!piece.is_empty()).then_some(Ok(piece))
    })
}

/// One CSV record (quoted as needed, `\n`-terminated).
fn csv_record(fields: &[String]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(fields).expect("writes to memory");
    w.into_inner().expect("writes to memory")
}

/// One group and its accumulators: the element of partials and partitions.
type Group = (Vec<String>, Vec<Acc>);

/// A stored partial's groups: one `[key, accs]` JSON line each, sorted by key.
fn groups<R: BufRead>(reader: R) -> impl Iterator<Item = Result<Group>> {
    reader.lines().map(|line| {
        let line = line.map_err(|e| Error::Corrupt(format!("aggregate partial: {e}")))?;
        serde_json::from_str(&line).map_err(|e| Error::corrupt("aggregate partial", e))
    })
}

fn write_group(out: &mut impl Write, group: &Group) -> Result<()> {
    serde_json::to_writer(&mut *out, group)
        .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
        .map_err(|e| Error::Corrupt(format!("writing an aggregate partial: {e}")))
}

/// A k-way merge of streams sorted by key into one sorted stream; equal keys (the same
/// group from several shards) are combined exactly.
struct Merged<I: Iterator<Item = Result<Group>>> {
    sources: Vec<I>,
    /// The smallest unread group of each source, smallest key (then source) on top.
    heads: BinaryHeap<Reverse<(Vec<String>, usize, Vec<Acc>)>>,
    failed: Option<Error>,
}

impl<I: Iterator<Item = Result<Group>>> Merged<I> {
    fn new(sources: Vec<I>) -> Self {
        let mut merged = Self {
            sources,
            heads: BinaryHeap::new(),
            failed: None,
        };
        for i in 0..merged.sources.len() {
            merged.refill(i);
        }
        merged
    }

    fn refill(&mut self, i: usize) {
        match self.sources[i].next() {
            Some(Ok((key, accs))) => self.heads.push(Reverse((key, i, accs))),
            Some(Err(e)) => self.failed = self.failed.take().or(Some(e)),
            None => {}
        }
    }
}

impl<I: Iterator<Item = Result<Group>>> Iterator for Merged<I> {
    type Item = Result<Group>;

    fn next(&mut self) -> Option<Result<Group>> {
        if let Some(e) = self.failed.take() {
            self.heads.clear();
            return Some(Err(e));
        }
        let Reverse((key, i, mut accs)) = self.heads.pop()?;
        self.refill(i);
        while self
            .heads
            .peek()
            .is_some_and(|Reverse((k, _, _))| *k == key)
        {
            let Reverse((_, j, more)) = self.heads.pop().expect("peeked");
            for (a, b) in accs.iter_mut().zip(&more) {
                if let Err(e) = a.merge(b) {
                    return Some(Err(e));
                }
            }
            self.refill(j);
        }
        if let Some(e) = self.failed.take() {
            self.heads.clear();
            return Some(Err(e));
        }
        Some(Ok((key, accs)))
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
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// Groups by their key cells joined with 0xff (never in UTF-8), so looking a row's
    /// group up allocates nothing; foldhash, keyed per process like std's SipHash but a
    /// fraction of its cost on short keys.
    groups: HashMap<Vec<u8>, Vec<Sums>, foldhash::fast::RandomState>,
    /// The groups while there are at most [`FEW_GROUPS`] (then they move to `groups`):
    /// most group-bys have a handful (merchants, countries, statuses), and comparing a
    /// key with each of a few, its first 8 bytes first, costs a third of hashing it and
    /// probing the table in wasm.
    few: Vec<(u64, Vec<u8>, Vec<Sums>)>,
    key: Vec<u8>,
    parsed: Vec<Number>,
    /// Whether any value column asks for min or max (comparing costs when none does).
    min_max: bool,
    pub rows: u64,
    pub skipped: u64,
}

impl Mapper<'_> {
    /// Adds a row; a row with a value that is not a number is skipped (counted).
    pub fn row(&mut self, row: Rows<'_>) -> Result<()> {
        self.rows += 1;
        // Reused, not a fixed array: moving 64 values a row was a `memory.copy` call
        // (a wasmtime libcall) per row in wasm.
        self.parsed.clear();
        for (_, i, _) in &self.agg.values {
            let cell = row.get(*i).copied().unwrap_or("");
            self.parsed.push(if cell.is_empty() {
                Number::Missing
            } else {
                match fixed_point(cell) {
                    Some((units, scale)) => Number::Fixed(units, scale),
                    None => match parse_decimal(cell) {
                        Some(d) => Number::Decimal(d),
                        None => {
                            self.skipped += 1;
                            return Ok(());
                        }
                    },
                }
            });
        }
        let key: &[u8] = match self.agg.group_by.as_slice() {
            [(_, i)] => row.get(*i).copied().unwrap_or("").as_bytes(),
            columns => {
                self.key.clear();
                for (n, (_, i)) in columns.iter().enumerate() {
                    if n > 0 {
                        self.key.push(0xff);
                    }
                    self.key
                        .extend_from_slice(row.get(*i).copied().unwrap_or("").as_bytes());
                }
                &self.key
            }
        };
        let width = self.agg.values.len();
        // While the groups are few, the key's place in the list; a new group past the
        // list's end moves the list into the table, where the key then goes.
        let listed = if self.groups.is_empty() {
            let head = head(key);
            let found = self
                .few
                .iter()
                .position(|(h, k, _)| *h == head && same_bytes(k, key));
            match found {
                Some(i) => Some(i),
                None if self.few.len() < FEW_GROUPS => {
                    self.few
                        .push((head, key.to_vec(), vec![Sums::default(); width]));
                    Some(self.few.len() - 1)
                }
                None => {
                    self.groups
                        .extend(self.few.drain(..).map(|(_, key, sums)| (key, sums)));
                    None
                }
            }
        } else {
            None
        };
        let sums = match listed {
            Some(i) => &mut self.few[i].2,
            None => match self.groups.get_mut(key) {
                Some(sums) => sums,
                None => self
                    .groups
                    .entry(key.to_vec())
                    .or_insert_with(|| vec![Sums::default(); width]),
            },
        };
        for (sums, v) in sums.iter_mut().zip(&self.parsed) {
            sums.add(*v, self.min_max)?;
        }
        Ok(())
    }

    /// The partials, one per reduce partition: a `[key, accs]` JSON line per group,
    /// sorted by key, so reduces and the output can merge them as streams.
    pub fn finish(self, partitions: u32) -> Result<Vec<Vec<u8>>> {
        let mut parts: Vec<Vec<(Vec<String>, Vec<Acc>)>> =
            vec![Vec::new(); partitions.max(1) as usize];
        let few = self.few.into_iter().map(|(_, key, sums)| (key, sums));
        for (key, sums) in few.chain(self.groups) {
            let key: Vec<String> = key
                .split(|&b| b == 0xff)
                .map(|cell| String::from_utf8_lossy(cell).into_owned())
                .collect();
            let accs = sums
                .into_iter()
                .map(Sums::into_acc)
                .collect::<Result<_>>()?;
            let p = (key_hash(&key) % u64::from(partitions.max(1))) as usize;
            parts[p].push((key, accs));
        }
        Ok(parts
            .into_iter()
            .map(|mut groups| {
                groups.sort_by(|a, b| a.0.cmp(&b.0));
                let mut bytes = Vec::new();
                for group in &groups {
                    write_group(&mut bytes, group).expect("writes to memory");
                }
                bytes
            })
            .collect())
    }
}

/// How many groups a mapper keeps in a list before it moves them to a hash table.
const FEW_GROUPS: usize = 16;

/// A key's first 8 bytes (fewer, zero-padded, in a shorter key) and its length: two keys
/// that differ here differ, and most keys of a few groups differ here.
fn head(key: &[u8]) -> u64 {
    let first = match key.first_chunk::<8>() {
        Some(first) => u64::from_le_bytes(*first),
        None => key
            .iter()
            .enumerate()
            .fold(0, |h, (i, &b)| h | u64::from(b) << (8 * i)),
    };
    first ^ (key.len() as u64).rotate_right(8)
}

/// `a == b`, 8 bytes at a time: slice equality is a `memcmp` call in wasm, dear for the
/// short keys compared here once a row.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .all(|(x, y)| x == y);
    tails_equal
        && a8.zip(b8).all(|(x, y)| {
            u64::from_le_bytes(x.try_into().expect("8 bytes"))
                == u64::from_le_bytes(y.try_into().expect("8 bytes"))
        })
}

/// A row's value in one column.
#[derive(Clone, Copy)]
enum Number {
    Missing,
    /// `units / 10^scale`, read without `rust_decimal`'s general parser.
    Fixed(i64, u32),
    Decimal(Decimal),
}

/// `-?digits(.digits)?` with at most 18 digits as (units, scale): what a money or count
/// column holds, read in a few instructions a digit. Anything else (exponents, `+`,
/// `.5`, `-0`, longer numbers) is left to `rust_decimal`.
fn fixed_point(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let negative = b.first() == Some(&b'-');
    let (mut units, mut digits, mut scale, mut point) = (0i64, 0u32, 0u32, false);
    for &c in &b[usize::from(negative)..] {
        match c {
            b'0'..=b'9' => {
                units = units * 10 + i64::from(c - b'0');
                digits += 1;
                scale += u32::from(point);
            }
            b'.' if !point && digits > 0 => point = true,
            _ => return None,
        }
        if digits > 18 {
            return None;
        }
    }
    if digits == 0 || (point && scale == 0) || (negative && units == 0) {
        return None;
    }
    Some((if negative { -units } else { units }, scale))
}

/// One group's totals for one value column while a shard folds its rows: values of one
/// scale (cents) are summed as integer units, and folded into the exact decimal sum only
/// when the scale changes or the shard ends.
#[derive(Clone, Default)]
struct Sums {
    acc: Acc,
    units: i128,
    scale: u32,
}

impl Sums {
    fn add(&mut self, v: Number, min_max: bool) -> Result<()> {
        let exact = match v {
            Number::Missing => return Ok(()),
            Number::Fixed(units, scale) if !min_max => {
                if scale != self.scale {
                    self.flush()?;
                    self.scale = scale;
                }
                self.units += i128::from(units);
                self.acc.count += 1;
                return Ok(());
            }
            Number::Fixed(units, scale) => Decimal::new(units, scale),
            Number::Decimal(d) => d,
        };
        self.acc.add(exact)
    }

    fn flush(&mut self) -> Result<()> {
        if self.units != 0 {
            let units = Decimal::try_from_i128_with_scale(self.units, self.scale)
                .map_err(|_| overflow())?;
            self.acc.sum = self.acc.sum.checked_add(units).ok_or_else(overflow)?;
            self.units = 0;
        }
        Ok(())
    }

    fn into_acc(mut self) -> Result<Acc> {
        self.flush()?;
        Ok(self.acc)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(values: &[i64]) -> Vec<Acc> {
        let mut a = Acc::default();
        for v in values {
            a.add(Decimal::from(*v)).unwrap();
        }
        vec![a]
    }

    fn partial(groups: &[(&str, &[i64])]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (key, values) in groups {
            write_group(&mut bytes, &(vec![key.to_string()], acc(values))).unwrap();
        }
        bytes
    }

    #[test]
    fn fixed_point_reads_what_rust_decimal_reads_or_declines() {
        for s in [
            "0",
            "12.50",
            "-3",
            "-0.01",
            "007.10",
            "999999999999999999",
            "1.00000000000000001",
        ] {
            let (units, scale) = fixed_point(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(
                Decimal::new(units, scale),
                Decimal::from_str(s).unwrap(),
                "{s}"
            );
            assert_eq!(
                Decimal::new(units, scale).to_string(),
                Decimal::from_str(s).unwrap().to_string()
            );
        }
        for s in [
            "",
            "-",
            "1.",
            ".5",
            "+1",
            "-0",
            "-0.00",
            "1e3",
            "1.2.3",
            "12a",
            "1234567890123456789",
            "1.000000000000000001",
            "--1",
        ] {
            assert_eq!(fixed_point(s), None, "{s}");
        }
    }

    #[test]
    fn a_shard_sums_cents_as_integers_and_equals_decimal_addition() {
        let agg = Aggregate {
            group_by: vec![("m".into(), 0), ("n".into(), 1)],
            values: vec![("v".into(), 2, vec![Op::Sum, Op::Count])],
        };
        let rows: Vec<[&str; 3]> = vec![
            ["a", "x", "1.50"],
            ["a", "x", "2"],
            ["a", "x", "-0.25"],
            ["a", "x", "1e2"],
            ["a", "y", "0.1"],
            ["b", "x", ""],
            ["b", "x", "nope"],
            ["a", "x", "0.125"],
        ];
        let mut mapper = agg.mapper();
        for r in &rows {
            mapper.row(r).unwrap();
        }
        assert_eq!((mapper.rows, mapper.skipped), (8, 1));
        let parts = mapper.finish(1).unwrap();
        let groups: Vec<Group> = groups(&parts[0][..]).collect::<Result<_>>().unwrap();
        let keys: Vec<Vec<String>> = groups.iter().map(|g| g.0.clone()).collect();
        assert_eq!(keys, [vec!["a", "x"], vec!["a", "y"], vec!["b", "x"]]);
        let want: Decimal = ["1.50", "2", "-0.25", "1e2", "0.125"]
            .iter()
            .map(|s| parse_decimal(s).unwrap())
            .sum();
        assert_eq!(groups[0].1[0].sum.to_string(), want.to_string());
        assert_eq!(groups[0].1[0].count, 5);
        assert_eq!(
            (groups[2].1[0].count, groups[2].1[0].sum),
            (0, Decimal::ZERO)
        );
    }

    #[test]
    fn groups_are_the_same_below_and_past_the_few_groups_list() {
        // Keys alike in their first 8 bytes, in length only, or with a NUL: a list lookup
        // that compared less than the whole key would merge some of them.
        let mut keys: Vec<String> = vec![
            "".into(),
            "a".into(),
            "a\0".into(),
            "abcdefgh".into(),
            "abcdefghi".into(),
            "abcdefghj".into(),
            "abcdefgh\u{e9}".into(),
            "Caf\u{e9} \"Zo\u{eb}\"".into(),
        ];
        for n in [keys.len(), FEW_GROUPS, FEW_GROUPS + 1, 3 * FEW_GROUPS] {
            while keys.len() < n {
                keys.push(format!("merchant number {}", keys.len()));
            }
            let agg = Aggregate {
                group_by: vec![("m".into(), 0)],
                values: vec![("v".into(), 1, vec![Op::Sum, Op::Count])],
            };
            let mut mapper = agg.mapper();
            let mut want: std::collections::BTreeMap<&str, (i64, u64)> = Default::default();
            for i in 0..20 * n {
                // Every key comes back many times, before and after the list is full.
                let key = keys[(i * 7 + i / n) % n].as_str();
                let cents = (i as i64 * 37) % 1000 - 300;
                let value = format!(
                    "{}{}.{:02}",
                    if cents < 0 { "-" } else { "" },
                    cents.abs() / 100,
                    cents.abs() % 100
                );
                mapper.row(&[key, &value]).unwrap();
                let w = want.entry(key).or_default();
                (w.0, w.1) = (w.0 + cents, w.1 + 1);
            }
            let parts = mapper.finish(1).unwrap();
            let groups: Vec<Group> = groups(&parts[0][..]).collect::<Result<_>>().unwrap();
            let got: Vec<(String, String, u64)> = groups
                .iter()
                .map(|g| (g.0[0].clone(), g.1[0].sum.to_string(), g.1[0].count))
                .collect();
            let want: Vec<(String, String, u64)> = want
                .iter()
                .map(|(k, (c, n))| (k.to_string(), Decimal::new(*c, 2).to_string(), *n))
                .collect();
            assert_eq!(got, want, "{n} keys");
        }
    }

    #[test]
    fn merging_sorted_partials_combines_equal_keys_and_keeps_order() {
        let a = partial(&[("apple", &[1, 2]), ("kiwi", &[5]), ("zucchini", &[9])]);
        let b = partial(&[("banana", &[3]), ("kiwi", &[-7, 4])]);
        let c = partial(&[]);
        let d = partial(&[("apple", &[10]), ("kiwi", &[1])]);
        let merged: Vec<Group> = Merged::new([a, b, c, d].iter().map(|p| groups(&p[..])).collect())
            .collect::<Result<_>>()
            .unwrap();
        let keys: Vec<&str> = merged.iter().map(|(k, _)| k[0].as_str()).collect();
        assert_eq!(keys, ["apple", "banana", "kiwi", "zucchini"]);
        assert_eq!(merged[0].1, acc(&[1, 2, 10]));
        assert_eq!(merged[2].1, acc(&[5, -7, 4, 1]));
    }

    #[test]
    fn a_damaged_partial_is_an_error_not_a_short_result() {
        let good = partial(&[("a", &[1]), ("c", &[1])]);
        let mut bad = partial(&[("b", &[1])]);
        bad.extend(b"{not json\n");
        let out: Vec<Result<Group>> =
            Merged::new(vec![groups(&good[..]), groups(&bad[..])]).collect();
        assert!(
            out.iter().any(|g| matches!(g, Err(Error::Corrupt(_)))),
            "{out:?}"
        );
    }

    #[test]
    fn the_streamed_output_is_one_json_document_in_pieces() {
        let agg = Aggregate {
            group_by: vec![("m".into(), 0)],
            values: vec![("v".into(), 1, vec![Op::Sum, Op::Count])],
        };
        // Enough groups for several pieces, split over two disjoint partitions.
        let (mut even, mut odd) = (Vec::new(), Vec::new());
        for i in 0..20_000u32 {
            let g = (vec![format!("k{i:06}")], acc(&[i64::from(i)]));
            write_group(if i % 2 == 0 { &mut even } else { &mut odd }, &g).unwrap();
        }
        let pieces: Vec<Vec<u8>> = agg
            .clone()
            .output(vec![&even[..], &odd[..]], 20_000, 3, false)
            .collect::<Result<_>>()
            .unwrap();
        assert!(pieces.len() > 2, "{} pieces", pieces.len());
        let out: Value = serde_json::from_slice(&pieces.concat()).unwrap();
        assert_eq!(
            (out["rows"].as_u64(), out["skipped"].as_u64()),
            (Some(20_000), Some(3))
        );
        let groups = out["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 20_000);
        assert_eq!(groups[7]["key"]["m"], "k000007");
        assert_eq!(groups[7]["v"]["sum"], "7");
        let csv: Vec<u8> = agg
            .output(vec![&even[..], &odd[..]], 20_000, 3, true)
            .collect::<Result<Vec<_>>>()
            .unwrap()
            .concat();
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.starts_with("m,v_sum,v_count\nk000000,0,1\nk000001,1,1\n"),
            "{}",
            &text[..80]
        );
        assert_eq!(text.lines().count(), 20_001);
    }
}
