//! Test data for the jobs tests (native and e2e): a sales CSV whose values are known
//! before it is written, so expected results come from the values (integer cents), not
//! from parsing the file; and a numeric matrix with its CSV.

use std::collections::BTreeMap;

pub const MERCHANTS: [&str; 7] = [
    "Acme, Inc.",
    "Café \"Zoë\"",
    "北京烤鸭",
    "plain",
    "O'Brien & Sons",
    "Ünïcödé, \"quoted\", comma",
    "z",
];

pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// `rows` sales: (merchant, amount in cents). Amounts range over negatives too.
pub fn sales(rows: usize, seed: u64) -> Vec<(String, i64)> {
    let mut rng = Lcg(seed);
    (0..rows)
        .map(|_| {
            let m = MERCHANTS[(rng.next() % MERCHANTS.len() as u64) as usize].to_owned();
            let cents = (rng.next() % 2_000_000) as i64 - 100_000;
            (m, cents)
        })
        .collect()
}

pub fn cents_str(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub fn sales_csv(rows: &[(String, i64)]) -> Vec<u8> {
    let mut out = String::from("order_id,merchant,amount\n");
    for (i, (m, c)) in rows.iter().enumerate() {
        out.push_str(&format!("{i},{},{}\n", quote(m), cents_str(*c)));
    }
    out.into_bytes()
}

/// merchant -> (count, sum, min, max) in cents.
pub fn expected(rows: &[(String, i64)]) -> BTreeMap<String, (u64, i128, i64, i64)> {
    let mut out: BTreeMap<String, (u64, i128, i64, i64)> = BTreeMap::new();
    for (m, c) in rows {
        let e = out.entry(m.clone()).or_insert((0, 0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 += i128::from(*c);
        e.2 = e.2.min(*c);
        e.3 = e.3.max(*c);
    }
    out
}

/// "12.34" -> 1234 (exactly two decimals expected).
pub fn parse_cents(s: &str) -> i128 {
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<2}");
    assert!(frac.len() == 2, "{s} has more than two decimals");
    let v: i128 = int.parse::<i128>().unwrap() * 100 + frac.parse::<i128>().unwrap();
    if neg { -v } else { v }
}

/// A numeric matrix and its CSV.
pub fn matrix(rows: usize, seed: u64) -> (Vec<[f64; 4]>, Vec<u8>) {
    let mut rng = Lcg(seed);
    let mut data = Vec::new();
    let mut csv = String::from("a,b,c,d\n");
    for _ in 0..rows {
        let a = (rng.next() % 100_000) as f64 / 100.0 + 1e4;
        let b = a * 0.5 + (rng.next() % 1000) as f64 / 10.0;
        let c = -((rng.next() % 777) as f64) / 7.0;
        let d = (rng.next() % 3) as f64;
        // Shortest round-trip text, so the parsed value equals the one kept.
        csv.push_str(&format!("{a},{b},{c},{d}\n"));
        data.push([a, b, c, d]);
    }
    (data, csv.into_bytes())
}

/// Stores `n` images (seeds `seed..seed+n`) as an upload would: original, record,
/// listing entry; no vector. Answers their ids in seed order.
pub fn store_images<K: store::KeyValue>(kv: &K, n: usize, seed: u64) -> Vec<String> {
    let store = store::Store::new(kv, 1000).expect("chunk size");
    (0..n as u64)
        .map(|i| {
            let bytes = format!("image bytes {}", seed + i).into_bytes();
            let id = store::content_id(&bytes);
            store
                .put_blob(&id, store::BlobKind::Original, &bytes, "image/jpeg")
                .expect("original");
            let record = store::ImageRecord {
                id: id.clone(),
                format: "jpeg".into(),
                width: 4,
                height: 3,
                bytes: bytes.len() as u64,
                alpha: false,
                created_micros: 1_700_000_000_000_000 + seed + i,
                thumbnail: None,
                vector: None,
                variants: vec![],
            };
            store.put_record(&record).expect("record");
            store.ensure_listed(&record).expect("listing");
            id
        })
        .collect()
}

/// Stores `vector` as image `id`'s vector of the current feature version.
pub fn store_vector<K: store::KeyValue>(kv: &K, id: &str, vector: &[f32]) {
    store::Store::new(kv, 1000)
        .expect("chunk size")
        .put_vector(id, &vectors::to_le_bytes(vector), vectors::FEATURE_VERSION)
        .expect("vector");
}

/// A random unit vector of [`vectors::DIMS`] (deterministic in `seed`): two of them
/// have a cosine near 0 (standard deviation ~0.07).
pub fn random_unit(seed: u64) -> Vec<f32> {
    let mut rng = Lcg(seed.wrapping_mul(2654435761).wrapping_add(12345));
    let v: Vec<f32> = (0..vectors::DIMS)
        .map(|_| (rng.next() % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    unit(v)
}

/// `v` moved by `noise` times a random unit vector, normalised: the cosine to `v` is
/// about `1/sqrt(1+noise²)`.
pub fn near(v: &[f32], noise: f32, seed: u64) -> Vec<f32> {
    let r = random_unit(seed ^ 0xdead_beef);
    unit(v.iter().zip(&r).map(|(a, b)| a + noise * b).collect())
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}
