//! The bytes of one segment: a 16-byte header, the ids, then the f32 matrix.
//!
//! ```text
//! offset 0   magic  b"DRVS"
//!        4   feature version   u32 LE
//!        8   dims              u32 LE
//!       12   count             u32 LE
//!       16   ids               count × 32 raw bytes (SHA-256), ascending
//!   16+32n   matrix            count × dims f32 LE, row-major, row i = ids[i]
//! ```
//! Both sections start at a multiple of 4, so once the bytes sit in a `Vec<f32>` the
//! matrix is read in place: no copy, no per-value parse.

use crate::{Error, Result};

/// First four bytes of every segment.
pub const MAGIC: [u8; 4] = *b"DRVS";
/// Length of the header.
pub const HEADER_BYTES: usize = 16;
/// Length of one id (raw SHA-256).
pub const ID_BYTES: usize = 32;

/// A raw image id: the 32 bytes behind the 64 hex characters.
pub type RawId = [u8; ID_BYTES];

/// What a segment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Feature version of every row (rows of another version are not comparable).
    pub version: u32,
    /// Components per row.
    pub dims: u32,
    /// Number of rows.
    pub count: u32,
}

impl Header {
    /// Parses the first [`HEADER_BYTES`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        if bytes.len() < HEADER_BYTES || bytes[..4] != MAGIC {
            return Err(Error::Corrupt("not a vector segment".into()));
        }
        Ok(Self {
            version: word(4),
            dims: word(8),
            count: word(12),
        })
    }

    /// Bytes of the header and the ids: what a reader needs to know a segment's coverage.
    pub fn ids_end(&self) -> usize {
        HEADER_BYTES + ID_BYTES * self.count as usize
    }

    /// Total length of a segment with this header.
    pub fn total_bytes(&self) -> usize {
        self.ids_end() + 4 * self.count as usize * self.dims as usize
    }
}

/// Encodes a segment; `rows` must be sorted by id, without repeats, each `dims` long.
pub fn encode(version: u32, dims: usize, rows: &[(RawId, &[f32])]) -> Vec<u8> {
    debug_assert!(
        rows.windows(2).all(|w| w[0].0 < w[1].0),
        "rows sorted by id"
    );
    let header = Header {
        version,
        dims: dims as u32,
        count: rows.len() as u32,
    };
    let mut out = Vec::with_capacity(header.total_bytes());
    out.extend_from_slice(&MAGIC);
    for word in [header.version, header.dims, header.count] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for (id, _) in rows {
        out.extend_from_slice(id);
    }
    for (_, row) in rows {
        assert_eq!(row.len(), dims, "every row has `dims` components");
        out.extend(row.iter().flat_map(|x| x.to_le_bytes()));
    }
    out
}

/// Appends the f32 little-endian values in `bytes` (a multiple of 4 long) to `out`: the
/// one decoder of stored vector bytes, for loose vectors and for segment rows that cannot
/// be read in place.
pub(crate) fn extend_f32_le(out: &mut Vec<f32>, bytes: &[u8]) {
    out.extend(
        bytes
            .as_chunks::<4>()
            .0
            .iter()
            .map(|b| f32::from_le_bytes(*b)),
    );
}

/// A segment read into memory, f32-aligned.
#[derive(Debug, Default)]
pub struct Segment {
    /// The segment's bytes, in a `Vec<f32>` so the matrix section is aligned.
    words: Vec<f32>,
    /// Bytes filled so far.
    len: usize,
    header: Option<Header>,
}

impl Segment {
    /// Empties the segment, keeping its buffer (a scan allocates its largest segment
    /// once) and reserving room for `bytes`.
    pub(crate) fn reset(&mut self, bytes: usize) {
        self.header = None;
        self.len = 0;
        self.words.clear();
        self.words.reserve(bytes.div_ceil(4));
    }

    /// Appends `chunk` to the bytes read so far.
    pub(crate) fn extend(&mut self, chunk: &[u8]) {
        let end = self.len + chunk.len();
        if self.words.len() * 4 < end {
            self.words.resize(end.div_ceil(4), 0.0);
        }
        let start = self.len;
        self.bytes_mut()[start..end].copy_from_slice(chunk);
        self.len = end;
    }

    /// The bytes read so far.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.bytes()[..self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.words.len() * 4;
        // SAFETY: f32 has no padding and every bit pattern is a valid u8 (and, read back
        // through `rows`, a valid f32); the slice covers exactly the initialised buffer.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), len) }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: as in `bytes_mut`.
        unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.words.len() * 4)
        }
    }

    /// Checks the header against the bytes read: all of them (`complete`) or at least
    /// the ids. Ids must ascend strictly (readers merge them against sorted lists).
    pub(crate) fn seal(&mut self, complete: bool) -> Result<Header> {
        let len = self.len;
        let header = Header::parse(self.filled())?;
        let fits = if complete {
            len == header.total_bytes()
        } else {
            len >= header.ids_end()
        };
        if !fits || (header.dims == 0 && header.count > 0) {
            return Err(Error::Corrupt(format!(
                "segment of {len} bytes, header {header:?}"
            )));
        }
        self.header = Some(header);
        if !self.ids().windows(2).all(|w| w[0] < w[1]) {
            self.header = None;
            return Err(Error::Corrupt("segment ids are not ascending".into()));
        }
        if complete && cfg!(target_endian = "big") {
            let start = header.ids_end() / 4;
            for x in &mut self.words[start..] {
                *x = f32::from_bits(u32::from_le(x.to_bits()));
            }
        }
        Ok(header)
    }

    /// The header (after a successful read).
    pub fn header(&self) -> Header {
        self.header.expect("a sealed segment")
    }

    /// The ids, ascending.
    pub fn ids(&self) -> &[RawId] {
        let h = self.header();
        self.bytes()[HEADER_BYTES..h.ids_end()]
            .as_chunks::<ID_BYTES>()
            .0
    }

    /// The matrix, row-major (`count × dims`), read in place. Empty after an ids-only read.
    pub fn rows(&self) -> &[f32] {
        let h = self.header();
        let start = h.ids_end() / 4;
        let end = start + h.count as usize * h.dims as usize;
        if self.len < end * 4 {
            return &[];
        }
        &self.words[start..end]
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        let dims = self.header().dims as usize;
        &self.rows()[i * dims..(i + 1) * dims]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_place() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let bytes = encode(3, 2, &[(a, &[0.5, -1.0]), (b, &[2.0, 4.5])]);
        assert_eq!(bytes.len(), 16 + 64 + 16);
        let mut seg = Segment::default();
        seg.reset(bytes.len());
        seg.extend(&bytes[..20]);
        seg.extend(&bytes[20..]);
        let h = seg.seal(true).unwrap();
        assert_eq!(
            h,
            Header {
                version: 3,
                dims: 2,
                count: 2
            }
        );
        assert_eq!(seg.ids(), &[a, b]);
        assert_eq!(seg.rows(), &[0.5, -1.0, 2.0, 4.5]);
        assert_eq!(seg.row(1), &[2.0, 4.5]);
        // Truncated: refused.
        seg.reset(0);
        seg.extend(&bytes[..bytes.len() - 4]);
        assert!(seg.seal(true).is_err());
        // Ids only: enough.
        seg.reset(0);
        seg.extend(&bytes[..16 + 64]);
        assert_eq!(seg.seal(false).unwrap().count, 2);
        assert_eq!(seg.ids(), &[a, b]);
        assert!(seg.rows().is_empty());
    }
}
