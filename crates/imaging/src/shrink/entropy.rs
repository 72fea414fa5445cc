//! Huffman decoding for our JPEG decoders: tables with a lookahead index and a 64-bit
//! bit reader.
//!
//! Entropy decoding is most of the work of a scaled decode (at 1/8 every AC coefficient
//! is decoded only to be stepped over), so the common case is one table lookup per
//! coefficient: the next [`LOOKUP_BITS`] bits index a table that gives the code length,
//! the symbol and, when the magnitude bits fit in the lookahead too, the coefficient's
//! value. The reader refills 7 bytes at once when none of the next 8 bytes is 0xFF (so
//! no stuffing or marker can be among them), byte by byte otherwise.

/// Bits of lookahead: 1 KiB-entry tables (4 KiB each), which hold nearly every code of
/// a photo's tables (codes are rarely longer than 10 bits).
pub(super) const LOOKUP_BITS: u32 = 10;

/// A Huffman table: a lookahead index for codes up to [`LOOKUP_BITS`] long and the
/// canonical form of JPEG's Annex F (`maxcode`/`valoff`) for longer ones.
pub(super) struct Huffman {
    /// By the next `LOOKUP_BITS` bits: code length in bits 0..8 (0: a longer code),
    /// symbol in 8..16, and in 16..32 the value of the `symbol & 15` magnitude bits that
    /// follow the code, when they fit in the lookahead too.
    fast: [u32; 1 << LOOKUP_BITS],
    /// `maxcode[l]`: the largest code of length `l` (1..=16), or -1 when there is none.
    maxcode: [i32; 17],
    /// `valoff[l]`: index into `values` of the first code of length `l`, minus that code.
    valoff: [i32; 17],
    values: [u8; 256],
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
    pub fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Huffman> {
        let mut t = Huffman {
            fast: [0; 1 << LOOKUP_BITS],
            maxcode: [-1; 17],
            valoff: [0; 17],
            values: [0; 256],
        };
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
        (k == symbols.len()).then_some(t)
    }

    /// The lookahead entries of the `l`-bit `code` for `sym`.
    fn fill_fast(&mut self, code: u32, l: u32, sym: u8) {
        let free = LOOKUP_BITS - l;
        let s = u32::from(sym & 15);
        for rest in 0..1u32 << free {
            let mut e = l | u32::from(sym) << 8;
            if s <= free {
                let v = extend(rest >> (free - s), s);
                e |= (v as u32) << 16;
            }
            self.fast[((code << free) | rest) as usize] = e;
        }
    }

    /// The entry for a code longer than the lookahead, in the same layout (no value);
    /// `bits16` are the next 16 bits. `None`: no such code (corrupt data).
    #[cold]
    fn slow(&self, bits16: u32) -> Option<u32> {
        for l in LOOKUP_BITS + 1..=16 {
            let code = (bits16 >> (16 - l)) as i32;
            if code <= self.maxcode[l as usize] {
                let i = usize::try_from(self.valoff[l as usize] + code).ok()?;
                return Some(l | u32::from(*self.values.get(i)?) << 8);
            }
        }
        None
    }
}

/// Reads entropy-coded bits, undoing 0xFF00 stuffing; stops at the next marker (or the
/// end of the data) and feeds zeros from there, counting them so that a decoder that
/// used any can tell the data was truncated or corrupt.
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
            self.fill();
        }
    }

    fn fill(&mut self) {
        if let Some(w) = self.data.get(self.pos..self.pos + 8)
            && self.phantom == 0
        {
            let w = u64::from_be_bytes(w.try_into().unwrap_or_default());
            if !has_ff(w) {
                // Branchless refill: whole bytes up to 56..63 bits; the rest of the next
                // byte lands below `n`, where the next refill puts the same bits again.
                self.acc |= w >> self.n;
                self.pos += ((63 - self.n) >> 3) as usize;
                self.n |= 56;
                return;
            }
        }
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

    /// The lookahead entry for the next code of `h` (not consumed).
    #[inline(always)]
    fn entry(&mut self, h: &Huffman) -> Option<u32> {
        self.ensure();
        let e = h.fast[(self.acc >> (64 - LOOKUP_BITS)) as usize];
        if e & 0xFF != 0 {
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
        let (len, sym) = (e & 0xFF, (e >> 8) & 0xFF);
        let s = sym & 15;
        if len + s <= LOOKUP_BITS {
            self.consume(len + s);
            return Some((sym, (e as i32) >> 16));
        }
        self.consume(len);
        let v = self.take(s);
        Some((sym, extend(v, s)))
    }

    /// Decodes a symbol and steps over the magnitude bits after it: returns the symbol.
    #[inline(always)]
    pub fn skip(&mut self, h: &Huffman) -> Option<u32> {
        let e = self.entry(h)?;
        let (len, sym) = (e & 0xFF, (e >> 8) & 0xFF);
        self.consume(len + (sym & 15));
        Some(sym)
    }

    /// True when the decoder used bits past the end of the segment: the data is
    /// truncated or corrupt.
    pub fn overrun(&self) -> bool {
        self.n < self.phantom
    }

    /// After a restart interval: checks no bits were missing, drops the buffered ones
    /// and steps over the RSTn marker that must come next.
    pub fn restart(&mut self) -> Option<()> {
        if self.overrun() {
            return None;
        }
        self.acc = 0;
        self.n = 0;
        self.phantom = 0;
        let p = super::markers::next_marker(self.data, self.pos, false)?;
        if !matches!(self.data.get(p + 1)?, 0xD0..=0xD7) {
            return None;
        }
        self.pos = p + 2;
        Some(())
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
            out.push(((acc << (8 - n)) as u8) | ((1 << (8 - n)) - 1));
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
        let h = Huffman::new(&counts, &symbols).unwrap();
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
                (round * 2_654_435_761) & ((1 << s) - 1)
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
        let mut again = Bits::new(&data, 0);
        for &(sym, _) in &want {
            assert_eq!(again.skip(&h), Some(sym));
        }
        let _ = bits.bits(16);
        assert!(bits.overrun(), "bits past the marker are zeros and flagged");
    }

    #[test]
    fn refuses_bad_tables() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Huffman::new(&counts, &[1, 2, 3]).is_none());
        counts[0] = 2;
        assert!(Huffman::new(&counts, &[1]).is_none());
        assert!(Huffman::new(&counts, &[1, 2]).is_some());
    }
}
