//! CSV records read a block at a time: the quotes, commas and line ends of each 64-byte
//! block are found at once (wasm SIMD in the components), quotes are paired with a prefix
//! XOR, and fields are cut at the commas and line ends outside quotes.
//!
//! Why: the `csv` crate's byte-at-a-time state machine, a UTF-8 check per field and the
//! ingest's own byte loop were over a third of a dataset upload and of an `aggregate`
//! shard in wasm. Here a buffer is classified in a few instructions per 16 bytes and
//! checked as UTF-8 in one SIMD pass (`simdutf8`).
//!
//! The records are exactly those of `csv::ReaderBuilder::new().has_headers(false)
//! .flexible(true)`, positions and lines included: CR, LF and CRLF end a record, blank
//! lines are skipped, a record's position is where the previous one's terminator ended.
//! Quoting RFC 4180 does not allow (a quote inside an unquoted field, text after a
//! closing quote), which the `csv` crate reads in its own way, hands the rest of the
//! stream to the `csv` crate itself, as does a record longer than [`MAX_BUFFER`]: the
//! fast path never has to agree with `csv` on input it does not understand. One
//! difference on purpose: a quote still open at the end of the stream is an error here
//! (the ingest reports where it opened), where `csv` ends the record.

use crate::{Error, Result};
use std::io::{Cursor, Read};

/// One record: its cells in order, where it starts and ends in the stream, its line.
pub struct Record<'a> {
    pub cells: &'a [&'a str],
    /// Stream offset right after the previous record's terminator (`csv`'s position).
    pub start: u64,
    /// Stream offset right after this record's terminator.
    pub end: u64,
    /// 1-based line of `start`, counting `\n` bytes as `csv` does.
    pub line: u64,
}

/// The first buffer; it doubles while one record does not fit.
const FIRST_BUFFER: usize = 256 << 10;
/// A record longer than this is read by the `csv` crate, which grows its record instead.
pub const MAX_BUFFER: usize = 4 << 20;

/// A CSV stream's records, one callback each.
pub struct CsvRecords<R: Read> {
    state: State<R>,
    /// Where an unclosed quote opened (line, column), as [`QuoteTracker`] saw it.
    open_quote: Option<(u64, u64)>,
}

enum State<R: Read> {
    Fast(Fast<R>),
    Slow(Box<Slow<R>>),
    Taken,
}

/// The fast path's buffer and what stage 1 found in it.
struct Fast<R> {
    inner: R,
    buf: Vec<u8>,
    len: usize,
    eof: bool,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// Line of `buf[0]`.
    line: u64,
    /// Stream offset of the first byte of `buf[0]`'s line (for columns).
    line_start: u64,
    /// Stream offset where the next record starts (`csv`'s position).
    next_start: u64,
    quotes: Vec<u64>,
    newlines: Vec<u64>,
    /// Commas and line ends outside quotes, as buffer indices.
    structural: Vec<u32>,
    /// Whether the buffer ends inside quotes.
    open_at_end: bool,
    /// Cells unescaped from quoted fields with doubled quotes (one record's).
    scratch: Vec<u8>,
}

/// The `csv` crate over what the fast path had not used and the rest of the stream.
struct Slow<R: Read> {
    reader: csv::Reader<QuoteTracker<std::io::Chain<Cursor<Vec<u8>>, R>>>,
    offset: u64,
    line: u64,
}

/// What scanning one buffer ended with.
enum Scanned {
    /// Every complete record was handed out; the rest starts at this buffer index.
    More(usize),
    /// The callback asked to stop.
    Stopped,
    /// The stream ended.
    Done,
    /// The rest, from the record starting at this index, goes to the `csv` crate: its
    /// quoting is not RFC 4180's, or it is longer than [`MAX_BUFFER`].
    Handover(usize),
}

impl<R: Read> CsvRecords<R> {
    pub fn new(inner: R) -> Self {
        Self::with_buffer(inner, FIRST_BUFFER)
    }

    /// With a first buffer of `size` bytes (the tests' small buffers cut records).
    fn with_buffer(inner: R, size: usize) -> Self {
        Self {
            state: State::Fast(Fast {
                inner,
                buf: vec![0; size.max(64)],
                len: 0,
                eof: false,
                offset: 0,
                line: 1,
                line_start: 0,
                next_start: 0,
                quotes: Vec::new(),
                newlines: Vec::new(),
                structural: Vec::new(),
                open_at_end: false,
                scratch: Vec::new(),
            }),
            open_quote: None,
        }
    }

    /// Calls `f` with each record until the stream ends or `f` answers `false`.
    /// `io` turns a read failure into the caller's error.
    pub fn for_each(
        &mut self,
        io: impl Fn(std::io::Error) -> Error,
        mut f: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<()> {
        loop {
            let fast = match &mut self.state {
                State::Fast(fast) => fast,
                State::Slow(slow) => {
                    let result = slow.for_each(&io, &mut f);
                    self.open_quote = slow.reader.get_ref().open_quote;
                    return match (result, self.open_quote) {
                        (Ok(()), Some((line, column))) => Err(never_closed(line, column)),
                        (result, _) => result,
                    };
                }
                State::Taken => unreachable!("the reader was taken apart"),
            };
            fast.fill().map_err(&io)?;
            match fast.scan(&mut f)? {
                Scanned::More(at) => fast.shift(at),
                Scanned::Stopped | Scanned::Done => return Ok(()),
                Scanned::Handover(at) => self.go_slow(at),
            }
        }
    }

    /// Where a quote opened and never closed, when the `csv` crate read the rest: a
    /// field-count error at or after its line is really this quote.
    pub fn open_quote(&self) -> Option<(u64, u64)> {
        self.open_quote
    }

    /// The stream, for its owner to finish with.
    pub fn into_inner(self) -> R {
        match self.state {
            State::Fast(fast) => fast.inner,
            State::Slow(slow) => slow.reader.into_inner().inner.into_inner().1,
            State::Taken => unreachable!("the reader was taken apart"),
        }
    }

    /// Hands the stream from buffer index `at` (where the next record's read starts,
    /// `next_start`) to the `csv` crate.
    fn go_slow(&mut self, at: usize) {
        let State::Fast(fast) = std::mem::replace(&mut self.state, State::Taken) else {
            unreachable!("only the fast path goes slow");
        };
        let (line, column) = fast.place(at);
        let tracker = QuoteTracker {
            inner: Cursor::new(fast.buf[at..fast.len].to_vec()).chain(fast.inner),
            line,
            column: column - 1,
            open_quote: None,
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(64 << 10)
            .from_reader(tracker);
        self.state = State::Slow(Box::new(Slow {
            reader,
            offset: fast.offset + at as u64,
            line,
        }));
    }
}

impl<R: Read> Fast<R> {
    /// Reads until the buffer is full or the stream ends, then classifies it.
    fn fill(&mut self) -> std::io::Result<()> {
        while self.len < self.buf.len() && !self.eof {
            match self.inner.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.classify();
        Ok(())
    }

    /// Stage 1: the quote and newline masks of every block, and the buffer indices of the
    /// commas and line ends outside quotes.
    fn classify(&mut self) {
        let blocks = self.len.div_ceil(64);
        self.quotes.clear();
        self.newlines.clear();
        self.structural.clear();
        let mut inside = 0u64;
        for k in 0..blocks {
            let start = k * 64;
            let [quote, comma, newline, cr] = if start + 64 <= self.len {
                classify(self.buf[start..start + 64].try_into().expect("64 bytes"))
            } else {
                let mut last = [0u8; 64];
                last[..self.len - start].copy_from_slice(&self.buf[start..self.len]);
                classify(&last)
            };
            let in_quotes = prefix_xor(quote) ^ inside;
            inside = 0u64.wrapping_sub(in_quotes >> 63);
            let mut bits = (comma | newline | cr) & !in_quotes;
            while bits != 0 {
                self.structural
                    .push((start + bits.trailing_zeros() as usize) as u32);
                bits &= bits - 1;
            }
            self.quotes.push(quote);
            self.newlines.push(newline);
        }
        self.open_at_end = inside != 0;
    }

    /// Moves the unread tail (from `at`) to the front, growing the buffer when the tail
    /// is one record that fills most of it.
    fn shift(&mut self, at: usize) {
        self.line += count_ones(&self.newlines, 0, at);
        if let Some(i) = memchr::memrchr(b'\n', &self.buf[..at]) {
            self.line_start = self.offset + i as u64 + 1;
        }
        self.buf.copy_within(at..self.len, 0);
        self.len -= at;
        self.offset += at as u64;
        if self.len * 2 > self.buf.len() && self.buf.len() < MAX_BUFFER {
            self.buf.resize(self.buf.len() * 2, 0);
        }
    }

    /// Stage 2: hands out every complete record of the buffer.
    fn scan(&mut self, f: &mut impl FnMut(&Record<'_>) -> Result<bool>) -> Result<Scanned> {
        let (text, bad_utf8) = match simdutf8::compat::from_utf8(&self.buf[..self.len]) {
            Ok(text) => (text, None),
            Err(e) => {
                let valid = e.valid_up_to();
                let text = simdutf8::basic::from_utf8(&self.buf[..valid]).expect("valid");
                // A sequence cut by the buffer's end is completed by the next read.
                let bad = (e.error_len().is_some() || self.eof).then_some(valid);
                (text, bad)
            }
        };
        let mut spare: Vec<&str> = Vec::new();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        let mut kinds: Vec<Quoted> = Vec::new();
        let (mut line, mut counted) = (self.line, 0);
        let mut s = 0; // index into `structural`
        let mut at = 0; // where the next record's bytes start
        loop {
            // Blank lines: terminators where a record would start.
            while s < self.structural.len()
                && self.structural[s] as usize == at
                && self.buf[at] != b','
            {
                at += 1;
                s += 1;
            }
            let resume = (self.next_start - self.offset) as usize;
            if at == self.len && self.eof {
                return Ok(Scanned::Done);
            }
            ranges.clear();
            let mut field = at;
            let end = loop {
                let Some(&p) = self.structural.get(s) else {
                    if !self.eof {
                        // A record longer than the largest buffer goes to the `csv` crate.
                        let full = resume == 0 && self.buf.len() >= MAX_BUFFER;
                        return Ok(if full {
                            Scanned::Handover(0)
                        } else {
                            Scanned::More(resume)
                        });
                    }
                    if self.open_at_end {
                        // Only an unclosed quote that opened a field is ours to report.
                        return if self.buf[field] == b'"' {
                            let (line, column) = self.place(field);
                            Err(never_closed(line, column))
                        } else {
                            Ok(Scanned::Handover(resume))
                        };
                    }
                    ranges.push((field, self.len));
                    break self.len;
                };
                let p = p as usize;
                s += 1;
                ranges.push((field, p));
                field = p + 1;
                if self.buf[p] != b',' {
                    break p;
                }
            };
            let record_end = (end + 1).min(self.len);
            line += count_ones(&self.newlines, counted, resume);
            counted = resume;
            // Quoting first: a record the fast path misread has no UTF-8 error to report.
            let quoted = count_ones(&self.quotes, at, end) != 0;
            if quoted {
                kinds.clear();
                for &(a, b) in &ranges {
                    match self.field_quoting(a, b) {
                        Some(kind) => kinds.push(kind),
                        None => return Ok(Scanned::Handover(resume)),
                    }
                }
            }
            if let Some(bad) = bad_utf8.filter(|&bad| bad < record_end) {
                return Err(bad_utf8_at(bad, line, &ranges));
            }
            let mut cells = recycle(std::mem::take(&mut spare));
            if quoted {
                // Unquote; unescape doubled quotes into the scratch (their ranges become
                // scratch ranges), then take each cell from the text or the scratch.
                self.scratch.clear();
                for ((a, b), kind) in ranges.iter_mut().zip(&kinds) {
                    match kind {
                        Quoted::No => {}
                        Quoted::Plain => (*a, *b) = (*a + 1, *b - 1),
                        Quoted::Doubled => {
                            let from = self.scratch.len();
                            unescape(&self.buf[*a + 1..*b - 1], &mut self.scratch);
                            (*a, *b) = (from, self.scratch.len());
                        }
                    }
                }
                for (&(a, b), kind) in ranges.iter().zip(&kinds) {
                    cells.push(match kind {
                        // Valid: UTF-8 text with some quote bytes taken out.
                        Quoted::Doubled => std::str::from_utf8(&self.scratch[a..b])
                            .map_err(|e| Error::corrupt("an unescaped cell", e))?,
                        Quoted::No | Quoted::Plain => &text[a..b],
                    });
                }
            } else {
                cells.extend(ranges.iter().map(|&(a, b)| &text[a..b]));
            }
            let stop = self.offset + record_end as u64;
            let go_on = f(&Record {
                cells: &cells,
                start: self.next_start,
                end: stop,
                line,
            })?;
            spare = recycle(cells);
            self.next_start = stop;
            at = record_end;
            if !go_on {
                return Ok(Scanned::Stopped);
            }
        }
    }

    /// How field `a..b` is quoted: `None` when RFC 4180 does not allow it.
    fn field_quoting(&self, a: usize, b: usize) -> Option<Quoted> {
        let quotes = count_ones(&self.quotes, a, b);
        if quotes == 0 {
            return Some(Quoted::No);
        }
        if self.buf[a] != b'"' || b - a < 2 || self.buf[b - 1] != b'"' {
            return None;
        }
        if quotes == 2 {
            return Some(Quoted::Plain);
        }
        let inner = &self.buf[a + 1..b - 1];
        let mut i = 0;
        while let Some(q) = memchr::memchr(b'"', &inner[i..]) {
            if inner.get(i + q + 1) != Some(&b'"') {
                return None;
            }
            i += q + 2;
        }
        Some(Quoted::Doubled)
    }

    /// Line and 1-based column of buffer index `i`.
    fn place(&self, i: usize) -> (u64, u64) {
        let line = self.line + count_ones(&self.newlines, 0, i);
        let line_start = match memchr::memrchr(b'\n', &self.buf[..i]) {
            Some(n) => self.offset + n as u64 + 1,
            None => self.line_start,
        };
        (line, self.offset + i as u64 - line_start + 1)
    }
}

/// The error for a byte that is not UTF-8 at buffer index `bad`, in the record with
/// fields `ranges` (raw buffer ranges) on `line`.
fn bad_utf8_at(bad: usize, line: u64, ranges: &[(usize, usize)]) -> Error {
    let field = ranges
        .iter()
        .position(|&(_, b)| bad < b)
        .unwrap_or(ranges.len() - 1);
    let into = bad.saturating_sub(ranges[field].0);
    Error::BadData {
        line,
        column: Some(field as u64 + 1),
        reason: format!("bytes that are not UTF-8 ({into} bytes into the field)"),
    }
}

/// How a field is quoted: not, plainly, or with doubled quotes to unescape.
#[derive(Clone, Copy)]
enum Quoted {
    No,
    Plain,
    Doubled,
}

impl<R: Read> Slow<R> {
    fn for_each(
        &mut self,
        io: &impl Fn(std::io::Error) -> Error,
        f: &mut impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<()> {
        let mut rec = csv::ByteRecord::new();
        loop {
            let before = self.reader.position().clone();
            let more = self
                .reader
                .read_byte_record(&mut rec)
                .map_err(|e| match e.into_kind() {
                    csv::ErrorKind::Io(e) => io(e),
                    other => Error::Corrupt(format!("csv: {other:?}")),
                })?;
            if !more {
                return Ok(());
            }
            let line = self.line + before.line() - 1;
            let mut cells = Vec::with_capacity(rec.len());
            for (i, field) in rec.iter().enumerate() {
                cells.push(std::str::from_utf8(field).map_err(|e| Error::BadData {
                    line,
                    column: Some(i as u64 + 1),
                    reason: format!(
                        "bytes that are not UTF-8 ({} bytes into the field)",
                        e.valid_up_to()
                    ),
                })?);
            }
            let record = Record {
                cells: &cells,
                start: self.offset + before.byte(),
                end: self.offset + self.reader.position().byte(),
                line,
            };
            if !f(&record)? {
                return Ok(());
            }
        }
    }
}

/// Tracks quotes and columns as every quote opened or closed a quoted field, to name
/// an unclosed quote where the `csv` crate read on past it.
struct QuoteTracker<R> {
    inner: R,
    line: u64,
    column: u64,
    open_quote: Option<(u64, u64)>,
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        for &b in &out[..n] {
            if b == b'\n' {
                self.line += 1;
                self.column = 0;
                continue;
            }
            self.column += 1;
            if b == b'"' {
                self.open_quote = match self.open_quote {
                    Some(_) => None,
                    None => Some((self.line, self.column)),
                };
            }
        }
        Ok(n)
    }
}

pub fn never_closed(line: u64, column: u64) -> Error {
    Error::BadData {
        line,
        column: Some(column),
        reason: "a quoted field is never closed".into(),
    }
}

/// A quoted field's inside with each doubled quote made one, a byte at a time: cells
/// are short, and in wasm `extend_from_slice` is a `memory.copy` libcall each time.
fn unescape(inside: &[u8], out: &mut Vec<u8>) {
    // Checked by `field_quoting`: each quote inside is the first of a pair.
    let mut after_quote = false;
    for &b in inside {
        if b == b'"' && !after_quote {
            after_quote = true;
            continue;
        }
        after_quote = false;
        out.push(b);
    }
}

/// An empty vector of cells on the allocation of `v`: each record's cells borrow that
/// record's scratch, so the vector cannot outlive it, but its memory can.
#[inline]
fn recycle<'a>(mut v: Vec<&str>) -> Vec<&'a str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

/// Set bits of `masks` (one `u64` per 64 bytes) at indices `a..b`.
// Called per record and per quoted field: inlined, it is a few instructions.
#[inline(always)]
fn count_ones(masks: &[u64], a: usize, b: usize) -> u64 {
    if a >= b {
        return 0;
    }
    let (first, last) = (a / 64, (b - 1) / 64);
    let low = !0u64 << (a % 64);
    let high = !0u64 >> (63 - (b - 1) % 64);
    if first == last {
        return u64::from((masks[first] & low & high).count_ones());
    }
    let middle: u32 = masks[first + 1..last].iter().map(|m| m.count_ones()).sum();
    u64::from((masks[first] & low).count_ones() + middle + (masks[last] & high).count_ones())
}

/// Bit i set when an odd number of bits at or below i are: the bytes inside quotes,
/// opening quote included, closing quote not.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The masks of `"`, `,`, `\n` and `\r` in 64 bytes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn classify(block: &[u8; 64]) -> [u64; 4] {
    use std::arch::wasm32::*;
    let mut out = [0u64; 4];
    for (i, lane) in block.chunks_exact(16).enumerate() {
        let lane: &[u8; 16] = lane.try_into().expect("16 bytes");
        // SAFETY: `lane` is 16 readable bytes; `v128_load` has no alignment requirement.
        let v = unsafe { v128_load(lane.as_ptr().cast::<v128>()) };
        for (mask, byte) in out.iter_mut().zip([b'"', b',', b'\n', b'\r']) {
            let hits = u8x16_bitmask(u8x16_eq(v, u8x16_splat(byte)));
            *mask |= u64::from(hits) << (16 * i);
        }
    }
    out
}

/// The masks of `"`, `,`, `\n` and `\r` in 64 bytes (the scalar form of the wasm SIMD
/// classifier, which the unit tests compare it with).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
fn classify_scalar(block: &[u8; 64]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, &b) in block.iter().enumerate() {
        let slot = match b {
            b'"' => 0,
            b',' => 1,
            b'\n' => 2,
            b'\r' => 3,
            _ => continue,
        };
        out[slot] |= 1 << i;
    }
    out
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn classify(block: &[u8; 64]) -> [u64; 4] {
    classify_scalar(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Lcg;

    /// A reader that hands out at most `step` bytes a call.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    type Got = (Vec<String>, u64, u64, u64);

    fn ours(input: &[u8], buffer: usize, step: usize) -> Result<Vec<Got>> {
        let mut reader = CsvRecords::with_buffer(Trickle { bytes: input, step }, buffer);
        let mut got = Vec::new();
        reader.for_each(
            |e| Error::Corrupt(e.to_string()),
            |r| {
                let cells = r.cells.iter().map(|c| c.to_string()).collect();
                got.push((cells, r.start, r.end, r.line));
                Ok(true)
            },
        )?;
        Ok(got)
    }

    /// The `csv` crate's records, or where its first cell that is not UTF-8 is.
    fn theirs(input: &[u8]) -> std::result::Result<Vec<Got>, (u64, u64)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        loop {
            let before = rdr.position().clone();
            if !rdr.read_byte_record(&mut rec).unwrap() {
                return Ok(out);
            }
            let mut cells = Vec::new();
            for (i, cell) in rec.iter().enumerate() {
                match std::str::from_utf8(cell) {
                    Ok(c) => cells.push(c.to_owned()),
                    Err(_) => return Err((before.line(), i as u64 + 1)),
                }
            }
            out.push((cells, before.byte(), rdr.position().byte(), before.line()));
        }
    }

    fn random_csv(rng: &mut Lcg, len: usize, alphabet: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < len {
            out.extend_from_slice(alphabet[(rng.next() % alphabet.len() as u64) as usize]);
        }
        out
    }

    fn agrees(input: &[u8], buffer: usize, step: usize) {
        let got = ours(input, buffer, step);
        let quotes = input.iter().filter(|&&b| b == b'"').count();
        match (got, theirs(input)) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input)),
            // An odd count of quotes: one never closes, which is an error here.
            (Err(Error::BadData { reason, .. }), _) if reason.contains("never closed") => {
                assert_eq!(quotes % 2, 1, "{:?}", String::from_utf8_lossy(input))
            }
            (Err(Error::BadData { line, column, .. }), Err(at)) => {
                assert_eq!(
                    (line, column.unwrap()),
                    at,
                    "{:?}",
                    String::from_utf8_lossy(input)
                )
            }
            (got, want) => panic!(
                "{got:?} against {want:?} for {:?}",
                String::from_utf8_lossy(input)
            ),
        }
    }

    #[test]
    fn records_equal_the_csv_crates_on_random_input() {
        let mut rng = Lcg(7);
        // Mostly regular quoting, some not; CR, LF, CRLF, blank lines, non-ASCII.
        let alphabets: [&[&[u8]]; 3] = [
            &[
                b"a",
                b"bc",
                b",",
                b"\n",
                b"\"x,\"",
                b"\"q\"\"q\"",
                b"\r\n",
                "é".as_bytes(),
                b"12.5",
                b"\"\"",
            ],
            &[
                b"a",
                b",",
                b"\n",
                b"\r",
                b"\"",
                b" ",
                "北".as_bytes(),
                b"\n\n",
            ],
            &[
                b"x",
                b",",
                b"\n",
                b"\"a\nb\"",
                b"\"\"",
                b"\xff",
                b"\xe5\x8c",
            ],
        ];
        for round in 0..3000 {
            let alphabet = alphabets[round % alphabets.len()];
            let len = 1 + (rng.next() % 600) as usize;
            let input = random_csv(&mut rng, len, alphabet);
            let buffer = [64, 100, 1024][round % 3];
            let step = 1 + (rng.next() % 200) as usize;
            agrees(&input, buffer, step);
        }
    }

    #[test]
    fn records_equal_the_csv_crates_on_a_sales_file_across_buffers() {
        let input = crate::testkit::sales_csv(&crate::testkit::sales(5000, 3));
        let want = theirs(&input).unwrap();
        for (buffer, step) in [(64, 7), (4096, 1000), (FIRST_BUFFER, 1 << 20)] {
            assert_eq!(ours(&input, buffer, step).unwrap(), want);
        }
    }

    #[test]
    fn a_record_longer_than_the_largest_buffer_is_read_whole() {
        let long = format!("a,\"{}\",b\nc,d,e\n", "x\n".repeat(MAX_BUFFER));
        agrees(long.as_bytes(), 64, 1 << 16);
        let got = ours(long.as_bytes(), 64, 1 << 16).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, ["c", "d", "e"]);
    }

    #[test]
    fn irregular_quoting_goes_to_the_csv_crate_from_that_record_on() {
        for input in [
            &b"a,b\n1,5'10\"\"x\n2,\"ok\"\n"[..],
            b"a,b\n\"ab\"cd,e\n\"x\"\n",
            b"h\r\n\r\n1,\"a\"b\"\"\r\n2\r\n",
        ] {
            agrees(input, 64, 3);
            assert!(ours(input, 64, 3).is_ok());
        }
    }

    #[test]
    fn an_unclosed_quote_is_named_where_it_opened() {
        let err = ours(b"id,m\n1,x\n8,\"never closed,1\n9,x\n", 64, 5).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadData {
                    line: 3,
                    column: Some(3),
                    ..
                }
            ),
            "{err:?}"
        );
        // A stray quote read by the csv crate: named as the old byte scan named it.
        let err = ours(b"id,m\n1,ab\"c\n", 64, 5).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadData {
                    line: 2,
                    column: Some(5),
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn simd_classification_equals_the_scalar_one() {
        let mut rng = Lcg(11);
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for b in block.iter_mut() {
                *b = [
                    b'"',
                    b',',
                    b'\n',
                    b'\r',
                    b'a',
                    0xe9,
                    (rng.next() & 0xff) as u8,
                ][(rng.next() % 7) as usize];
            }
            assert_eq!(classify(&block), classify_scalar(&block));
        }
    }
}
