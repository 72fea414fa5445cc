//! Huffman coding of quantised blocks into entropy-coded bytes (Annex F.1.2), with a
//! 64-bit bit buffer that writes four bytes at a time when none is 0xFF (which needs a
//! stuffed zero after it), and a zero-run walk by the block's bit mask of non-zero
//! coefficients instead of a test per coefficient.

use super::tables::ZIGZAG;

/// Bits into bytes.
pub(super) struct BitWriter {
    pub out: Vec<u8>,
    acc: u64,
    /// Bits in `acc` not yet written (below 32 between calls).
    n: u32,
}

/// True when any byte of `w` is 0xFF.
#[inline(always)]
fn has_ff(w: u32) -> bool {
    let x = !w;
    x.wrapping_sub(0x0101_0101) & !x & 0x8080_8080 != 0
}

impl BitWriter {
    pub fn new(out: Vec<u8>) -> Self {
        BitWriter { out, acc: 0, n: 0 }
    }

    /// Appends the low `len` bits of `bits` (`len` at most 32).
    #[inline(always)]
    fn put(&mut self, bits: u32, len: u32) {
        self.acc = (self.acc << len) | u64::from(bits);
        self.n += len;
        if self.n >= 32 {
            self.n -= 32;
            let w = (self.acc >> self.n) as u32;
            if has_ff(w) {
                self.stuffed(w);
            } else {
                self.out.extend_from_slice(&w.to_be_bytes());
            }
        }
    }

    #[cold]
    fn stuffed(&mut self, w: u32) {
        for b in w.to_be_bytes() {
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
    }

    /// Pads the last byte with one bits (F.1.2.3) and writes what is left.
    pub fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.n % 8) % 8;
        self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
        self.n += pad;
        while self.n > 0 {
            self.n -= 8;
            let b = (self.acc >> self.n) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
        self.out
    }
}

/// A coefficient's size category and magnitude bits (F.1.2.1).
#[inline(always)]
fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = if v < 0 { (v - 1) as u32 } else { v as u32 };
    (size, bits & ((1u32 << size) - 1))
}

/// A Huffman table as codes by symbol, `code << 8 | length` (`tables::codes`).
pub(super) type Codes = [u32; 256];

/// Writes one block: `coefficients` in the DCT's layout, `natural_at[k]` the index there
/// of zigzag position `k`; `prev_dc` is the component's last DC, updated.
#[inline]
pub(super) fn write_block(
    w: &mut BitWriter,
    coefficients: &[i32; 64],
    natural_at: &[u8; 64],
    prev_dc: &mut i32,
    dc: &Codes,
    ac: &Codes,
) {
    let mut zz = [0i32; 64];
    let mut mask = 0u64;
    for (k, (z, &at)) in zz.iter_mut().zip(natural_at).enumerate() {
        *z = coefficients[usize::from(at)];
        mask |= u64::from(*z != 0) << k;
    }
    let diff = zz[0] - *prev_dc;
    *prev_dc = zz[0];
    let (size, bits) = magnitude(diff);
    let c = dc[size as usize];
    w.put((c >> 8) << size | bits, (c & 0xFF) + size);

    // Bit i of `mask` is now zigzag position k + i.
    let mut mask = mask >> 1;
    let mut k = 1usize;
    while mask != 0 {
        let mut run = mask.trailing_zeros();
        k += run as usize;
        mask >>= run;
        while run >= 16 {
            let zrl = ac[0xF0];
            w.put(zrl >> 8, zrl & 0xFF);
            run -= 16;
        }
        let (size, bits) = magnitude(zz[k]);
        let c = ac[(run << 4 | size) as usize];
        w.put((c >> 8) << size | bits, (c & 0xFF) + size);
        k += 1;
        mask >>= 1;
    }
    if k < 64 {
        let eob = ac[0];
        w.put(eob >> 8, eob & 0xFF);
    }
}

/// The zigzag order read from a layout that puts natural index `n` at `layout(n)`.
pub(super) fn zigzag_in(layout: impl Fn(usize) -> usize) -> [u8; 64] {
    ZIGZAG.map(|n| layout(usize::from(n)) as u8)
}
