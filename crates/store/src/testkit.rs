//! Deterministic data for tests of this crate and of `vectors` (feature `testkit`).

/// `n` pseudo-random f32 in [-1, 1) from `seed` (xorshift64): the same on every machine.
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// `v` scaled to unit length.
pub fn normalised(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// A unit vector of `n` components from `seed`.
pub fn unit(n: usize, seed: u64) -> Vec<f32> {
    normalised(noise(n, seed))
}

/// Commits image `id` whose blobs are stored, as an upload does last: its listing entry,
/// then a minimal record (`Store::has_image`), created at `created_micros`.
pub fn commit<K: crate::KeyValue>(store: &crate::Store<K>, id: &str, created_micros: u64) {
    let record = crate::ImageRecord {
        id: id.to_owned(),
        format: "png".into(),
        width: 1,
        height: 1,
        bytes: 1,
        alpha: false,
        created_micros,
        thumbnail: None,
        vector: None,
        variants: Vec::new(),
    };
    store.ensure_listed(&record).expect("listing entry");
    store.put_record(&record).expect("record");
}
