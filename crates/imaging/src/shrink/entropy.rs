//! Huffman decoding for our JPEG decoders: tables with a lookahead index and a 64-bit
//! bit reader.
//!
//! Entropy decoding is most of the work of a scaled decode (at 1/8 every AC coefficient
//! is decoded only to be stepped over), so the common case is one table lookup per
//! coefficient: the next [`LOOKUP_BITS`] bits index a table that gives the code length,
//! the symbol and, when the magnitude bits fit in the lookahead too, the coefficient's
//! value. Stepping over coefficients goes further: a second table gives, for a longer
//! lookahead, how many bits the whole codes (with their magnitude bits) in it take and
//! how many coefficients they cover, so runs of short codes go in one lookup. The reader
//! refills 7 bytes at once when none of the next 8 bytes is 0xFF (so no stuffing or
//! marker can be among them), byte by byte otherwise.

/// Bits of lookahead: 1 Ki-entry tables (4 KiB each), which hold nearly every code of
/// a photo's tables (codes are rarely longer than 10 bits).
pub(super) const LOOKUP_BITS: u32 = 10;

/// Bits of lookahead for stepping over runs of AC codes (4 Ki entries, 8 KiB): more
/// codes per lookup; built for AC tables only. At least `LOOKUP_BITS`.
const RUN_BITS: u32 = 12;

/// The longer lookahead [`Huffman::widen_runs`] gives (16 Ki entries, 32 KiB): more codes
/// per lookup, for a large image decoded at 1/4 or 1/8, where stepping over AC codes is
/// nearly all the work (a 12 MP thumbnail's decode 8% faster in wasm). Building it takes
/// about as long as decoding a small image, so small ones keep [`RUN_BITS`]. At most
/// 15: a `runs` entry has 4 bits for the bits it takes.
const LONG_RUN_BITS: u32 = 14;

/// A Huffman table: a lookahead index for codes up to [`LOOKUP_BITS`] long and the
/// canonical form of JPEG's Annex F (`maxcode`/`valoff`) for longer ones.
pub(super) struct Huffman {
    /// By the next `LOOKUP_BITS` bits, an [`Entry`]; 0 for a code longer than that.
    fast: [u32; 1 << LOOKUP_BITS],
    /// By the next `run_bits` bits, the AC codes (with magnitude bits) wholly inside them
    /// up to and with an end of block: bits they take (bits 0..4; 0 when not even one
    /// fits), zigzag positions they cover (4..11) and whether the last is an end of
    /// block (bit 15). Empty for a DC table.
    runs: Vec<u16>,
    /// The lookahead of `runs`: [`RUN_BITS`], or [`LONG_RUN_BITS`] once widened.
    run_bits: u32,
    /// `maxcode[l]`: the largest code of length `l` (1..=16), or -1 when there is none.
    maxcode: [i32; 17],
    /// `valoff[l]`: index into `values` of the first code of length `l`, minus that code.
    valoff: [i32; 17],
    values: [u8; 256],
}

/// A decoded code, packed in a `u32`: bits 0..8 the code length plus the `symbol & 15`
/// magnitude bits after it (what stepping over it takes), 8..16 the symbol, 16..21 the
/// code length, 21..32 the magnitude bits' signed value when they fit in the lookahead.
#[derive(Clone, Copy)]
struct Entry(u32);

impl Entry {
    fn new(len: u32, sym: u8, value: i32) -> Entry {
        let total = len + u32::from(sym & 15);
        Entry(total | u32::from(sym) << 8 | len << 16 | (value as u32) << 21)
    }
    #[inline(always)]
    fn total(self) -> u32 {
        self.0 & 0xFF
    }
    #[inline(always)]
    fn symbol(self) -> u32 {
        (self.0 >> 8) & 0xFF
    }
    #[inline(always)]
    fn len(self) -> u32 {
        (self.0 >> 16) & 31
    }
    #[inline(always)]
    fn value(self) -> i32 {
        (self.0 as i32) >> 21
    }
}

/// The signed value of `t` magnitude bits `v` (JPEG's EXTEND, F.2.2.1).
#[inline(always)]
pub(super) fn extend(v: u32, t: u32) -> i32 {
    if t == 0 {
        0
    } else if v < (1 << (t - 1)) {
        v as i32 - (1 << t) + 1
    } else {
        v as i32
    }
}

impl Huffman {
    /// Builds the table from a DHT's code counts per length and symbols; `None` when the
    /// counts over-subscribe the code space or do not match the symbols.
    pub fn new(counts: &[u8; 16], symbols: &[u8], ac: bool) -> Option<Box<Huffman>> {
        let mut t = Box::new(Huffman {
            fast: [0; 1 << LOOKUP_BITS],
            runs: Vec::new(),
            run_bits: RUN_BITS,
            maxcode: [-1; 17],
            valoff: [0; 17],
            values: [0; 256],
        });
        if symbols.len() > 256 {
            return None;
        }
        t.values[..symbols.len()].copy_from_slice(symbols);
        let mut code = 0u32;
        let mut k = 0usize;
        for l in 1..=16u32 {
            let n = usize::from(counts[l as usize - 1]);
            if n > 0 {
                if code as usize + n > (1 << l) {
                    return None; // over-subscribed
                }
                t.valoff[l as usize] = k as i32 - code as i32;
                t.maxcode[l as usize] = (code as usize + n - 1) as i32;
                for &sym in symbols.get(k..k + n)? {
                    if l <= LOOKUP_BITS {
                        t.fill_fast(code, l, sym);
                    }
                    code += 1;
                }
                k += n;
            }
            code <<= 1;
        }
        if k != symbols.len() {
            return None;
        }
        if ac {
            t.build_runs();
        }
        Some(t)
    }

    /// The lookahead entries of the `l`-bit `code` for `sym`.
    fn fill_fast(&mut self, code: u32, l: u32, sym: u8) {
        let free = LOOKUP_BITS - l;
        let s = u32::from(sym & 15);
        for rest in 0..1u32 << free {
            let v = if s <= free {
                extend(rest >> (free - s), s)
            } else {
                0
            };
            self.fast[((code << free) | rest) as usize] = Entry::new(l, sym, v).0;
        }
    }

    /// The `runs` table for `run_bits` of lookahead.
    fn build_runs(&mut self) {
        self.runs = (0..1 << self.run_bits)
            .map(|bits| self.run_at(bits))
            .collect();
    }

    /// Gives an AC table the longer lookahead for stepping over codes
    /// ([`LONG_RUN_BITS`]); a DC table, or one widened already, is left as it is.
    pub fn widen_runs(&mut self) {
        if !self.runs.is_empty() && self.run_bits < LONG_RUN_BITS {
            self.run_bits = LONG_RUN_BITS;
            self.build_runs();
        }
    }

    /// The first code in the top `avail` bits of the `run_bits`-bit `window`, when it
    /// and its magnitude bits fit: (bits they take, symbol).
    fn first_code(&self, window: u32, avail: u32) -> Option<(u32, u8)> {
        let rb = self.run_bits;
        // Short codes from the lookahead table (bits past `avail` are zeros there, but
        // a code no longer than `avail` does not depend on them).
        let e = Entry(self.fast[(window >> (rb - LOOKUP_BITS)) as usize]);
        if e.0 != 0 && e.len() <= avail {
            return (e.total() <= avail).then_some((e.total(), e.symbol() as u8));
        }
        for l in 1..=avail {
            let code = (window >> (rb - l)) as i32;
            if code <= self.maxcode[l as usize] {
                let i = usize::try_from(self.valoff[l as usize] + code).ok()?;
                let sym = *self.values.get(i)?;
                let total = l + u32::from(sym & 15);
                return (total <= avail).then_some((total, sym));
            }
        }
        None
    }

    /// The `runs` entry for the lookahead `bits`.
    fn run_at(&self, bits: u32) -> u16 {
        let (mut used, mut zz) = (0u32, 0u32);
        let rb = self.run_bits;
        while let Some((total, sym)) = self.first_code((bits << used) & ((1 << rb) - 1), rb - used)
        {
            used += total;
            match sym {
                0 => return (used | zz << 4 | 1 << 15) as u16, // end of block
                0xF0 => zz += 16,
                sym => zz += u32::from(sym >> 4) + 1,
            }
            if zz >= 64 {
                break; // a block ends here at the latest; let single steps see it
            }
        }
        (used | zz << 4) as u16
    }

    /// The entry for a code longer than the lookahead, in the same layout (no value);
    /// `bits16` are the next 16 bits. `None`: no such code (corrupt data).
    #[cold]
    #[inline(never)]
    fn slow(&self, bits16: u32) -> Option<Entry> {
        for l in LOOKUP_BITS + 1..=16 {
            let code = (bits16 >> (16 - l)) as i32;
            if code <= self.maxcode[l as usize] {
                let i = usize::try_from(self.valoff[l as usize] + code).ok()?;
                return Some(Entry::new(l, *self.values.get(i)?, 0));
            }
        }
        None
    }
}

/// Reads entropy-coded bits, undoing 0xFF00 stuffing; stops at the next marker (or the
/// end of the data) and feeds zeros from there, counting them so that a decoder that
/// used any can tell the data was truncated or corrupt.
///
/// `Copy`, and the out-of-line paths take and return it by value: a decoder that owns
/// its reader then keeps it in registers through its whole loop.
#[derive(Clone, Copy)]
pub(super) struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// The next bits, most significant first. Below the `n` valid bits there may be a
    /// few more bits of the next input byte (the fast refill leaves them), never others.
    acc: u64,
    n: u32,
    /// Zero bits fed past a marker or the end, at the bottom of the `n` valid bits.
    phantom: u32,
}

/// True when any byte of `w` is 0xFF.
#[inline(always)]
fn has_ff(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = !w; // a zero byte where `w` has 0xFF
    x.wrapping_sub(LO) & !x & HI != 0
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            n: 0,
            phantom: 0,
        }
    }

    /// Makes at least 32 bits available (enough for any code and its magnitude bits).
    #[inline(always)]
    fn ensure(&mut self) {
        if self.n < 32 {
            if let Some(w) = self.data.get(self.pos..self.pos + 8)
                && let Ok(w) = <[u8; 8]>::try_from(w)
                && !has_ff(u64::from_be_bytes(w))
                && self.phantom == 0
            {
                // Branchless refill: whole bytes up to 56..63 bits; the rest of the next
                // byte lands below `n`, where the next refill puts the same bits again.
                self.acc |= u64::from_be_bytes(w) >> self.n;
                self.pos += ((63 - self.n) >> 3) as usize;
                self.n |= 56;
            } else {
                *self = self.filled_bytewise();
            }
        }
    }

    /// Refills byte by byte, undoing stuffing; at a marker or the end, zeros.
    #[cold]
    #[inline(never)]
    fn filled_bytewise(mut self) -> Self {
        while self.n <= 56 {
            let mut byte = 0u8;
            if self.phantom == 0 {
                match self.data.get(self.pos) {
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    Some(&0xFF) | None => self.phantom = 8,
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            } else {
                self.phantom += 8;
            }
            self.acc |= u64::from(byte) << (56 - self.n);
            self.n += 8;
        }
        self
    }

    #[inline(always)]
    fn consume(&mut self, count: u32) {
        self.acc <<= count;
        self.n -= count;
    }

    /// The next `count` (0..=16) bits; the caller has made them available.
    #[inline(always)]
    fn take(&mut self, count: u32) -> u32 {
        let v = ((self.acc >> 32) >> (32 - count)) as u32;
        self.consume(count);
        v
    }

    /// `count` (0..=16) raw bits, e.g. a DC refinement bit.
    pub fn bits(&mut self, count: u32) -> u32 {
        self.ensure();
        self.take(count)
    }

    #[inline(always)]
    fn lookahead(&self) -> usize {
        (self.acc >> (64 - LOOKUP_BITS)) as usize
    }

    /// The entry for the next code of `h` (not consumed).
    #[inline(always)]
    fn entry(&mut self, h: &Huffman) -> Option<Entry> {
        self.ensure();
        let e = Entry(h.fast[self.lookahead()]);
        if e.0 != 0 {
            Some(e)
        } else {
            h.slow((self.acc >> 48) as u32)
        }
    }

    /// Decodes a symbol and the magnitude bits after it: `(symbol, value)`. With a DC
    /// table the symbol is the magnitude size and the value the DC difference; with an
    /// AC table the symbol is run << 4 | size.
    #[inline(always)]
    pub fn coefficient(&mut self, h: &Huffman) -> Option<(u32, i32)> {
        let e = self.entry(h)?;
        if e.total() <= LOOKUP_BITS {
            self.consume(e.total());
            return Some((e.symbol(), e.value()));
        }
        self.consume(e.len());
        let s = e.symbol() & 15;
        let v = self.take(s);
        Some((e.symbol(), extend(v, s)))
    }

    /// Decodes the AC coefficients of a block from zigzag position 1 while the position
    /// is at most `last`, calling `put(k, value)` for each non-zero one (`k` < 64).
    /// Returns the position it stopped at: 64 after an end of block (or a block's last
    /// coefficient), else past `last` (the caller steps over the rest). `None`: corrupt.
    ///
    /// The bit buffer lives in locals through the loop, as in [`Bits::skip_ac`]: the
    /// reader itself sits in memory (the decoders pass it by reference), which cost a
    /// store and a load of it per coefficient in wasm (a small gain: the chain of
    /// dependent table loads is what limits the loop).
    #[inline(always)]
    pub fn ac(
        &mut self,
        h: &Huffman,
        last: usize,
        mut put: impl FnMut(usize, i32),
    ) -> Option<usize> {
        let (mut acc, mut n) = (self.acc, self.n);
        let mut k = 1;
        while k <= last {
            if n < 32 {
                (self.acc, self.n) = (acc, n);
                self.ensure();
                (acc, n) = (self.acc, self.n);
            }
            let e = Entry(h.fast[(acc >> (64 - LOOKUP_BITS)) as usize]);
            let (sym, v) = if e.0 != 0 && e.total() <= LOOKUP_BITS {
                acc <<= e.total();
                n -= e.total();
                (e.symbol(), e.value())
            } else {
                (self.acc, self.n) = (acc, n);
                let decoded = self.coefficient(h);
                (acc, n) = (self.acc, self.n);
                decoded?
            };
            let (run, size) = ((sym >> 4) as usize, sym & 15);
            if size == 0 {
                if run != 15 {
                    k = 64; // end of block
                    break;
                }
                k += 16;
                continue;
            }
            k += run;
            if k > 63 {
                (self.acc, self.n) = (acc, n);
                return None;
            }
            put(k, v);
            k += 1;
        }
        (self.acc, self.n) = (acc, n);
        Some(k)
    }

    /// Steps over the AC coefficients of a block from zigzag position `k` (1..=64) to
    /// its end (an end-of-block code or position 64). `None`: corrupt data.
    ///
    /// The hottest loop of a 1/8 decode: it works on local copies of the bit buffer so
    /// that they stay in registers (written back only around a refill).
    #[inline(always)]
    pub fn skip_ac(&mut self, h: &Huffman, mut k: u32) -> Option<()> {
        let (mut acc, mut n) = (self.acc, self.n);
        let rb = h.run_bits;
        let done = loop {
            if k >= 64 {
                break k == 64;
            }
            // A refill leaves 56 or more bits: a few runs' worth before the next one.
            if n < rb {
                (self.acc, self.n) = (acc, n);
                self.ensure();
                (acc, n) = (self.acc, self.n);
            }
            // Several codes at once while they stay inside the block.
            if let Some(&run) = h.runs.get((acc >> (64 - rb)) as usize) {
                let (bits, zz) = (u32::from(run & 15), u32::from(run >> 4) & 127);
                if bits != 0 && k + zz < 64 {
                    acc <<= bits;
                    n -= bits;
                    if run & (1 << 15) != 0 {
                        break true;
                    }
                    k += zz;
                    continue;
                }
            }
            if n < 32 {
                (self.acc, self.n) = (acc, n);
                self.ensure();
                (acc, n) = (self.acc, self.n);
            }
            let mut e = Entry(h.fast[(acc >> (64 - LOOKUP_BITS)) as usize]);
            if e.0 == 0 {
                match h.slow((acc >> 48) as u32) {
                    Some(slow) => e = slow,
                    None => break false,
                }
            }
            acc <<= e.total();
            n -= e.total();
            match e.symbol() {
                0 => break true, // end of block
                0xF0 => k += 16,
                sym => k += (sym >> 4) + 1,
            }
        };
        (self.acc, self.n) = (acc, n);
        done.then_some(())
    }

    /// True when the decoder used bits past the end of the segment: the data is
    /// truncated or corrupt.
    pub fn overrun(&self) -> bool {
        self.n < self.phantom
    }

    /// After a restart interval: checks no bits were missing, drops the buffered ones
    /// and steps over the RSTn marker that must come next.
    pub fn restart(&mut self) -> Option<()> {
        *self = self.restarted()?;
        Some(())
    }

    #[inline(never)]
    fn restarted(self) -> Option<Self> {
        if self.overrun() {
            return None;
        }
        let p = super::markers::next_marker(self.data, self.pos, false)?;
        if !matches!(self.data.get(p + 1)?, 0xD0..=0xD7) {
            return None;
        }
        Some(Bits::new(self.data, p + 2))
    }

    /// Where the entropy-coded data read so far ends (the next marker follows).
    pub fn position(&self) -> usize {
        self.pos.min(self.data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `(value, bits)` pairs MSB first, stuffing 0x00 after each 0xFF.
    fn pack(fields: &[(u32, u32)]) -> Vec<u8> {
        let (mut out, mut acc, mut n) = (Vec::new(), 0u64, 0u32);
        for &(v, bits) in fields {
            acc = acc << bits | u64::from(v);
            n += bits;
            while n >= 8 {
                let b = (acc >> (n - 8)) as u8;
                out.push(b);
                if b == 0xFF {
                    out.push(0);
                }
                n -= 8;
            }
        }
        if n > 0 {
            // Padded with 1 bits, as encoders do; stuffed too if that makes 0xFF.
            let last = ((acc << (8 - n)) as u8) | ((1 << (8 - n)) - 1);
            out.push(last);
            if last == 0xFF {
                out.push(0);
            }
        }
        out
    }

    /// Codes of every length (long ones take the slow path), stuffed 0xFF bytes, and the
    /// end of the data: decoded the same as written, and overrun only past the end.
    #[test]
    fn decodes_short_long_and_stuffed_codes() {
        // One code of each length 1..=15 and two of length 16: "0", "10", "110", ...
        let mut counts = [1u8; 16];
        counts[15] = 2;
        let symbols: Vec<u8> = (0..17u8).map(|i| (i % 16) << 4 | (i % 12)).collect();
        let h = Huffman::new(&counts, &symbols, true).unwrap();
        let code = |i: u32| {
            if i < 16 {
                ((1u32 << i) - 1) << 1
            } else {
                0xFFFF
            }
        };
        let len = |i: u32| if i < 16 { i + 1 } else { 16 };
        let mut fields = Vec::new();
        let mut want = Vec::new();
        for round in 0..40u32 {
            let i = (round * 7) % 17;
            let s = u32::from(symbols[i as usize] & 15);
            let mag = if s == 0 {
                0
            } else {
                round.wrapping_mul(2_654_435_761) & ((1 << s) - 1)
            };
            fields.push((code(i), len(i)));
            fields.push((mag, s));
            want.push((u32::from(symbols[i as usize]), extend(mag, s)));
        }
        let mut data = pack(&fields);
        assert!(
            data.windows(2).any(|w| w == [0xFF, 0]),
            "test data has stuffing"
        );
        data.extend_from_slice(&[0xFF, 0xD9]);
        let mut bits = Bits::new(&data, 0);
        for (k, &w) in want.iter().enumerate() {
            assert_eq!(bits.coefficient(&h), Some(w), "symbol {k}");
            assert!(!bits.overrun());
        }
        let _ = bits.bits(16);
        assert!(bits.overrun(), "bits past the marker are zeros and flagged");
    }

    /// Blocks that end at position 64 without an end-of-block code, zero runs and long
    /// magnitudes: stepped over exactly, many codes per lookup or one at a time.
    #[test]
    fn skips_whole_blocks() {
        let mut counts = [0u8; 16];
        counts[1..4].copy_from_slice(&[2, 2, 2]);
        let symbols = [0x01, 0x00, 0x11, 0xF0, 0x52, 0x0A];
        let h = Huffman::new(&counts, &symbols, true).unwrap();
        let code = |sym: u8| match sym {
            0x01 => (0b00, 2),
            0x00 => (0b01, 2),
            0x11 => (0b100, 3),
            0xF0 => (0b101, 3),
            0x52 => (0b1100, 4),
            _ => (0b1101, 4),
        };
        let mut fields = Vec::new();
        let mut put = |syms: &[u8]| {
            for &sym in syms {
                fields.push(code(sym));
                let s = u32::from(sym & 15);
                fields.push((u32::from(s > 0), s)); // magnitude bits 0..01
            }
        };
        put(&[0x01; 63]); // 1..=63, no end of block
        put(&[0xF0, 0x52, 0x0A, 0x11, 0x00]);
        put(&[0xF0, 0xF0, 0xF0, 0x0A]);
        put(&[0x01; 14]); // 50..=63, no end of block
        fields.push((0xBEEF, 16));
        let data = pack(&fields);
        let corrupt = pack(&[code(0xF0), code(0xF0), code(0xF0), code(0xF0), (0, 16)]);
        // The same with the default lookahead and the widened one.
        let mut wide = Huffman::new(&counts, &symbols, true).unwrap();
        wide.widen_runs();
        assert_eq!(wide.runs.len(), 1 << LONG_RUN_BITS);
        for h in [&h, &wide] {
            let mut bits = Bits::new(&data, 0);
            for _ in 0..3 {
                assert_eq!(bits.skip_ac(h, 1), Some(()));
            }
            assert_eq!(bits.bits(16), 0xBEEF);
            assert!(!bits.overrun());
            // A run past position 63 is corrupt.
            assert_eq!(Bits::new(&corrupt, 0).skip_ac(h, 1), None);
        }
    }

    #[test]
    fn refuses_bad_tables() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Huffman::new(&counts, &[1, 2, 3], true).is_none());
        counts[0] = 2;
        assert!(Huffman::new(&counts, &[1], false).is_none());
        assert!(Huffman::new(&counts, &[1, 2], false).is_some());
    }
}
