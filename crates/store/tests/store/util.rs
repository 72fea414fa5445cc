use store::{ImageRecord, MemoryKv, Store, content_id};

/// Fermyon's value cap.
pub const CAP: usize = 1_000_000;

pub fn capped_kv() -> MemoryKv {
    MemoryKv::new().with_max_value_bytes(CAP)
}

pub fn store() -> Store<MemoryKv> {
    Store::new(capped_kv(), CAP as u32).unwrap()
}

/// Deterministic, non-repeating bytes (so a chunk mix-up changes the checksum).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn record(seed: u64, created_micros: u64) -> ImageRecord {
    ImageRecord {
        id: content_id(&seed.to_le_bytes()),
        format: "png".into(),
        width: 4,
        height: 3,
        bytes: 8,
        created_micros,
        thumbnail: None,
        vector: None,
    }
}
