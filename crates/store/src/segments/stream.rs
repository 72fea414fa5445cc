//! Scanning a segment without keeping its matrix: rows are scored straight out of each
//! chunk as it arrives from the key-value store.
//!
//! A search reads every stored vector on every query, so its cost is the bytes it moves.
//! Copying each chunk into one segment buffer (after zeroing it) and scoring afterwards
//! moved every byte three more times than needed; here the chunk the host just wrote
//! into guest memory is scored in place while it is still in the CPU's cache, and only
//! the ids are kept (for coverage and the catalog).

use super::RowSink;
use super::format::{self, Header, Layout, Rows, Segment};
use crate::{Error, KeyValue, Result, Store};

/// Cuts the rows section, arriving in pieces of any length, into batches of whole rows.
struct RowCutter {
    layout: Layout,
    row_bytes: usize,
    /// The start of a row that continues in the next piece.
    carry: Vec<u8>,
    /// f32 rows re-assembled or re-aligned before they can be read as `f32`.
    scratch: Vec<f32>,
    /// Index of the next row to hand out.
    next: usize,
}

impl RowCutter {
    fn new(header: &Header) -> Self {
        Self {
            layout: header.layout,
            row_bytes: if header.dims == 0 {
                0
            } else {
                header.row_bytes()
            },
            carry: Vec::new(),
            scratch: Vec::new(),
            next: 0,
        }
    }

    /// Hands every row completed by `piece` to `emit(first_row_index, rows)`.
    fn feed(&mut self, mut piece: &[u8], emit: &mut dyn FnMut(usize, Rows<'_>)) {
        if self.row_bytes == 0 {
            return;
        }
        if !self.carry.is_empty() {
            let take = (self.row_bytes - self.carry.len()).min(piece.len());
            self.carry.extend_from_slice(&piece[..take]);
            piece = &piece[take..];
            if self.carry.len() < self.row_bytes {
                return;
            }
            let carry = std::mem::take(&mut self.carry);
            emit(self.next, rows(self.layout, &carry, &mut self.scratch));
            self.next += 1;
            self.carry = carry;
            self.carry.clear();
        }
        let whole = piece.len() / self.row_bytes * self.row_bytes;
        if whole > 0 {
            emit(
                self.next,
                rows(self.layout, &piece[..whole], &mut self.scratch),
            );
            self.next += whole / self.row_bytes;
        }
        self.carry.extend_from_slice(&piece[whole..]);
    }
}

/// Whole rows of `layout` in `bytes`.
fn rows<'a>(layout: Layout, bytes: &'a [u8], scratch: &'a mut Vec<f32>) -> Rows<'a> {
    match layout {
        Layout::Sketch => Rows::Sketch(bytes),
        Layout::Exact => Rows::Exact(floats(bytes, scratch)),
    }
}

/// `bytes` (f32 little-endian, a multiple of 4 long) as `f32`s: in place when they are
/// aligned on a little-endian machine (the usual case: chunks start 4-aligned in the
/// segment and the allocator aligns buffers), else decoded into `scratch`.
fn floats<'a>(bytes: &'a [u8], scratch: &'a mut Vec<f32>) -> &'a [f32] {
    if cfg!(target_endian = "little") {
        // SAFETY: every bit pattern is a valid f32; `align_to` only returns a middle
        // part that is correctly aligned, and it is used only when it covers all bytes.
        let (head, mid, tail) = unsafe { bytes.align_to::<f32>() };
        if head.is_empty() && tail.is_empty() {
            return mid;
        }
    }
    scratch.clear();
    format::extend_f32_le(scratch, bytes);
    scratch
}

impl<K: KeyValue> Store<K> {
    /// Reads segment `hash`, keeping only its header and ids in `segment`, and hands its
    /// rows in batches to `on_rows(header, ids, rows)` as their chunks arrive. Header,
    /// lengths and id order are checked before the first row is handed out. `Ok(None)`
    /// when the segment vanished (a compaction deleted it): rows handed out before that
    /// stay handed out, which is harmless as callers dedupe by id.
    pub(crate) fn stream_segment(
        &self,
        hash: &str,
        segment: &mut Segment,
        on_rows: &mut RowSink<'_>,
    ) -> Result<Option<Header>> {
        let Some((manifest, size)) = self.segment_manifest(hash)? else {
            return Ok(None);
        };
        segment.reset(0);
        let mut header: Option<Header> = None;
        let mut ids_end: Option<usize> = None;
        let mut cutter: Option<RowCutter> = None;
        let mut offset = 0;
        for n in 0..manifest.chunks {
            let Some(chunk) = self.segment_chunk(hash, &manifest, n, offset)? else {
                return Ok(None);
            };
            let mut rest = chunk.as_slice();
            // Header and ids first: kept, and checked before any row goes out.
            while header.is_none() && !rest.is_empty() {
                let have = segment.filled().len();
                let want = ids_end.unwrap_or(format::HEADER_BYTES) - have;
                let (head, tail) = rest.split_at(want.min(rest.len()));
                segment.extend(head);
                rest = tail;
                let have = segment.filled().len();
                if ids_end.is_none() && have == format::HEADER_BYTES {
                    let h = Header::parse(segment.filled())?;
                    if h.total_bytes() != size {
                        return Err(Error::Corrupt(format!(
                            "segment {hash} of {size} bytes, header {h:?}"
                        )));
                    }
                    ids_end = Some(h.ids_end());
                }
                if ids_end == Some(have) {
                    let h = segment.seal(false)?;
                    cutter = Some(RowCutter::new(&h));
                    header = Some(h);
                }
            }
            if let (Some(h), Some(cutter)) = (header, cutter.as_mut()) {
                let ids = segment.ids();
                let width = h.row_bytes();
                cutter.feed(rest, &mut |first, rows| {
                    let count = match rows {
                        Rows::Exact(values) => values.len() / h.dims as usize,
                        Rows::Sketch(records) => records.len() / width,
                    };
                    on_rows(h, &ids[first..first + count], rows);
                });
            }
            offset += chunk.len();
        }
        let handed = cutter.map_or(0, |c| c.next);
        match header {
            Some(h) if handed == h.count as usize => Ok(Some(h)),
            _ => Err(Error::Corrupt(format!("segment {hash} is incomplete"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(layout: Layout, dims: u32) -> Header {
        Header {
            layout,
            version: 2,
            dims,
            count: 7,
        }
    }

    #[test]
    fn rows_cut_from_pieces_of_any_length_equal_the_matrix() {
        let dims = 3;
        let matrix: Vec<f32> = (0..7 * dims).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut records = Vec::new();
        Rows::Exact(&matrix).sketch_into(dims, &mut records);
        let exact: Vec<u8> = matrix.iter().flat_map(|x| x.to_le_bytes()).collect();
        for (layout, bytes) in [(Layout::Exact, &exact), (Layout::Sketch, &records)] {
            for piece in [1, 3, 4, 5, 12, 13, 40, bytes.len()] {
                let mut cutter = RowCutter::new(&header(layout, dims as u32));
                let (mut floats, mut sketches) = (Vec::new(), Vec::new());
                let mut firsts = Vec::new();
                // Odd offsets too: the copy path.
                let mut shifted = vec![0u8; 1];
                shifted.extend_from_slice(bytes);
                for p in shifted[1..].chunks(piece) {
                    cutter.feed(p, &mut |first, rows| {
                        firsts.push(first);
                        match rows {
                            Rows::Exact(r) => floats.extend_from_slice(r),
                            Rows::Sketch(r) => sketches.extend_from_slice(r),
                        }
                    });
                }
                match layout {
                    Layout::Exact => assert_eq!(floats, matrix, "pieces of {piece}"),
                    Layout::Sketch => assert_eq!(&sketches, bytes, "pieces of {piece}"),
                }
                assert_eq!(cutter.next, 7);
                assert!(firsts.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
