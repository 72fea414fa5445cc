//! Compact storage of vectors: f32 little-endian bytes (4 bytes per dimension, no JSON).

use ndarray::Array2;

use crate::Error;

/// Serialises `v` as consecutive f32 little-endian values.
pub fn to_le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Parses f32 little-endian bytes; the length must be a multiple of 4.
pub fn from_le_bytes(b: &[u8]) -> Result<Vec<f32>, Error> {
    if !b.len().is_multiple_of(4) {
        return Err(Error::InvalidLength(b.len()));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Stacks rows of equal length into an n x D matrix (the input of `top_k`/`batch_stats`).
pub fn stack<R: AsRef<[f32]>>(rows: &[R]) -> Result<Array2<f32>, Error> {
    let dims = rows.first().map_or(0, |r| r.as_ref().len());
    let mut data = Vec::with_capacity(rows.len() * dims);
    for r in rows {
        let r = r.as_ref();
        if r.len() != dims {
            return Err(Error::DimensionMismatch {
                expected: dims,
                got: r.len(),
            });
        }
        data.extend_from_slice(r);
    }
    Array2::from_shape_vec((rows.len(), dims), data).map_err(|_| Error::Empty("matrix"))
}
