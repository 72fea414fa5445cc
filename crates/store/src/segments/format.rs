//! The bytes of one segment: a 16-byte header, the ids, then one row per id.
//!
//! ```text
//! offset 0   magic  b"DRV8" (sketch rows) or b"DRVS" (f32 rows, before sketches)
//!        4   feature version   u32 LE
//!        8   dims              u32 LE
//!       12   count             u32 LE
//!       16   ids               count × 32 raw bytes (SHA-256), ascending
//!   16+32n   rows              count rows, row i = ids[i]:
//!                              DRV8: an int8 sketch record (`sketch::record_bytes(dims)`)
//!                              DRVS: dims × f32 LE
//! ```
//! Compaction writes only `DRV8`; `DRVS` segments (written before sketches existed) are
//! still read, exactly, and rewritten by the next compaction. Every section starts at a
//! multiple of 4, so f32 rows are read in place: no copy, no per-value parse.

use super::sketch;
use crate::{Error, Result};

/// First four bytes of a segment of sketched rows.
pub const MAGIC: [u8; 4] = *b"DRV8";
/// First four bytes of a segment of f32 rows.
pub const EXACT_MAGIC: [u8; 4] = *b"DRVS";
/// Length of the header.
pub const HEADER_BYTES: usize = 16;
/// Length of one id (raw SHA-256).
pub const ID_BYTES: usize = 32;

/// A raw image id: the 32 bytes behind the 64 hex characters.
pub type RawId = [u8; ID_BYTES];

/// How a segment stores its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// int8 sketch records ([`sketch`]): a quarter of the bytes; scores come as bounds.
    Sketch,
    /// f32 rows: exact scores, four times the bytes. Read, never written any more.
    Exact,
}

/// What a segment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub layout: Layout,
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
        let layout = match bytes.get(..4) {
            Some(m) if bytes.len() >= HEADER_BYTES && m == MAGIC => Layout::Sketch,
            Some(m) if bytes.len() >= HEADER_BYTES && m == EXACT_MAGIC => Layout::Exact,
            _ => return Err(Error::Corrupt("not a vector segment".into())),
        };
        Ok(Self {
            layout,
            version: word(4),
            dims: word(8),
            count: word(12),
        })
    }

    /// Bytes of the header and the ids: what a reader needs to know a segment's coverage.
    pub fn ids_end(&self) -> usize {
        HEADER_BYTES + ID_BYTES * self.count as usize
    }

    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        match self.layout {
            Layout::Sketch => sketch::record_bytes(self.dims as usize),
            Layout::Exact => 4 * self.dims as usize,
        }
    }

    /// Total length of a segment with this header.
    pub fn total_bytes(&self) -> usize {
        self.ids_end() + self.count as usize * self.row_bytes()
    }
}

/// Encodes a segment of sketched rows; `records` (made by [`sketch::encode_row`] from
/// rows of `dims` components) must be sorted by id, without repeats.
pub fn encode(version: u32, dims: usize, records: &[(RawId, &[u8])]) -> Vec<u8> {
    encode_rows(Layout::Sketch, version, dims, records)
}

/// Encodes a segment of f32 rows, the layout before sketches (for tests of old stores).
pub fn encode_exact(version: u32, dims: usize, rows: &[(RawId, &[f32])]) -> Vec<u8> {
    let bytes: Vec<(RawId, Vec<u8>)> = rows
        .iter()
        .map(|(id, row)| {
            assert_eq!(row.len(), dims, "every row has `dims` components");
            (*id, row.iter().flat_map(|x| x.to_le_bytes()).collect())
        })
        .collect();
    let rows: Vec<(RawId, &[u8])> = bytes.iter().map(|(id, b)| (*id, b.as_slice())).collect();
    encode_rows(Layout::Exact, version, dims, &rows)
}

fn encode_rows(layout: Layout, version: u32, dims: usize, rows: &[(RawId, &[u8])]) -> Vec<u8> {
    debug_assert!(
        rows.windows(2).all(|w| w[0].0 < w[1].0),
        "rows sorted by id"
    );
    let header = Header {
        layout,
        version,
        dims: dims as u32,
        count: rows.len() as u32,
    };
    let mut out = Vec::with_capacity(header.total_bytes());
    out.extend_from_slice(match layout {
        Layout::Sketch => &MAGIC,
        Layout::Exact => &EXACT_MAGIC,
    });
    for word in [header.version, header.dims, header.count] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for (id, _) in rows {
        out.extend_from_slice(id);
    }
    for (_, row) in rows {
        assert_eq!(
            row.len(),
            header.row_bytes(),
            "every row has the layout's length"
        );
        out.extend_from_slice(row);
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
        if complete && header.layout == Layout::Exact && cfg!(target_endian = "big") {
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

    /// Row `i`, read in place. Panics after an ids-only read.
    pub fn row(&self, i: usize) -> Rows<'_> {
        let h = self.header();
        let width = h.row_bytes();
        let start = h.ids_end() + i * width;
        assert!(start + width <= self.len, "row {i} was read");
        match h.layout {
            Layout::Sketch => Rows::Sketch(&self.bytes()[start..start + width]),
            Layout::Exact => {
                let dims = h.dims as usize;
                Rows::Exact(&self.words[start / 4..start / 4 + dims])
            }
        }
    }
}

/// Rows as a reader receives them, row-major: f32 values (segments written before
/// sketches, loose vectors) or sketch records (`sketch::record_bytes(dims)` each).
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    Exact(&'a [f32]),
    Sketch(&'a [u8]),
}

impl Rows<'_> {
    /// Appends these rows to `out` as sketch records.
    pub fn sketch_into(&self, dims: usize, out: &mut Vec<u8>) {
        match self {
            Rows::Sketch(records) => out.extend_from_slice(records),
            Rows::Exact(values) => {
                for row in values.chunks_exact(dims.max(1)) {
                    sketch::encode_row(row, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_place() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let bytes = encode_exact(3, 2, &[(a, &[0.5, -1.0]), (b, &[2.0, 4.5])]);
        assert_eq!(bytes.len(), 16 + 64 + 16);
        let mut seg = Segment::default();
        seg.reset(bytes.len());
        seg.extend(&bytes[..20]);
        seg.extend(&bytes[20..]);
        let h = seg.seal(true).unwrap();
        assert_eq!(
            h,
            Header {
                layout: Layout::Exact,
                version: 3,
                dims: 2,
                count: 2
            }
        );
        assert_eq!(seg.ids(), &[a, b]);
        assert!(matches!(seg.row(0), Rows::Exact(&[0.5, -1.0])));
        assert!(matches!(seg.row(1), Rows::Exact(&[2.0, 4.5])));
        // Truncated: refused.
        seg.reset(0);
        seg.extend(&bytes[..bytes.len() - 4]);
        assert!(seg.seal(true).is_err());
        // Ids only: enough.
        seg.reset(0);
        seg.extend(&bytes[..16 + 64]);
        assert_eq!(seg.seal(false).unwrap().count, 2);
        assert_eq!(seg.ids(), &[a, b]);
    }

    #[test]
    fn sketch_segments_round_trip() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut records = Vec::new();
        Rows::Exact(&[0.5, -1.0, 0.0, 2.0, 4.5, 1.0]).sketch_into(3, &mut records);
        let width = sketch::record_bytes(3);
        assert_eq!(records.len(), 2 * width);
        let bytes = encode(3, 3, &[(a, &records[..width]), (b, &records[width..])]);
        assert_eq!(bytes.len(), 16 + 64 + 2 * width);
        let mut seg = Segment::default();
        seg.reset(bytes.len());
        seg.extend(&bytes);
        assert_eq!(seg.seal(true).unwrap().layout, Layout::Sketch);
        let Rows::Sketch(second) = seg.row(1) else {
            panic!("sketch rows")
        };
        let approx = sketch::Record::parse(second, 3).approximation();
        assert!((approx[1] - 4.5).abs() < 4.5 / 127.0, "{approx:?}");
    }
}
