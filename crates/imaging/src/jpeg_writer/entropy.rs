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

/// Where the coefficients of a block sit: in the DCT's layout, `at[k]` is the index of
/// zigzag position `k`, and `zigzag[i]` the zigzag position of index `i`.
pub(super) struct Order {
    pub at: [u8; 64],
    pub zigzag: [u8; 64],
}

impl Order {
    /// The order of a layout that puts natural (row-major) index `n` at `layout(n)`.
    pub fn new(layout: impl Fn(usize) -> usize) -> Self {
        let at = ZIGZAG.map(|n| layout(usize::from(n)) as u8);
        let mut zigzag = [0u8; 64];
        for (k, &i) in at.iter().enumerate() {
            zigzag[usize::from(i)] = k as u8;
        }
        Order { at, zigzag }
    }
}

/// Bit `i` set when `coefficients[i]` is not zero: 16 compares of four lanes in wasm.
#[inline(always)]
fn nonzero(coefficients: &[i32; 64]) -> u64 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let mut mask = 0u64;
        for j in 0..16 {
            // SAFETY: 4 * j + 3 < 64.
            let v = unsafe { v128_load(coefficients.as_ptr().add(4 * j).cast()) };
            let bits = i32x4_bitmask(i32x4_ne(v, i32x4_splat(0)));
            mask |= u64::from(bits) << (4 * j);
        }
        mask
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    coefficients
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &c)| mask | u64::from(c != 0) << i)
}

/// Bit `k` set when zigzag position `k` holds a non-zero coefficient. Made from the mask
/// in the layout, a step per non-zero coefficient (a dozen or so at q80): gathering all
/// 64 into zigzag order and testing each made the encode 16% slower in wasm.
#[inline(always)]
fn zigzag_mask(coefficients: &[i32; 64], order: &Order) -> u64 {
    let mut mask = 0u64;
    let mut set = nonzero(coefficients);
    while set != 0 {
        mask |= 1 << order.zigzag[set.trailing_zeros() as usize];
        set &= set - 1;
    }
    mask
}

/// Writes one block: `coefficients` in the DCT's layout, read in zigzag `order`;
/// `prev_dc` is the component's last DC, updated.
#[inline]
pub(super) fn write_block(
    w: &mut BitWriter,
    coefficients: &[i32; 64],
    order: &Order,
    prev_dc: &mut i32,
    dc: &Codes,
    ac: &Codes,
) {
    let mask = zigzag_mask(coefficients, order);
    let coefficient = |k: usize| coefficients[usize::from(order.at[k])];
    let first = coefficient(0);
    let diff = first - *prev_dc;
    *prev_dc = first;
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
        let (size, bits) = magnitude(coefficient(k));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask (SIMD in wasm, where `scripts/wasm-unit-tests.sh` runs this) against a
    /// test per coefficient, and the zigzag mask built from it against the gather it
    /// replaced.
    #[test]
    fn masks_match_a_test_per_coefficient() {
        let order = Order::new(|n| (n % 8) * 8 + n / 8);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for density in [0u64, 1, 4, 16, 64] {
            for _ in 0..200 {
                let coefficients: [i32; 64] = std::array::from_fn(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % 64 < density {
                        (x >> 40) as i32 % 2048 - 1024
                    } else {
                        0
                    }
                });
                let want = (0..64).fold(0u64, |m, i| m | u64::from(coefficients[i] != 0) << i);
                assert_eq!(nonzero(&coefficients), want);
                let gathered = (0..64).fold(0u64, |m, k| {
                    m | u64::from(coefficients[usize::from(order.at[k])] != 0) << k
                });
                assert_eq!(zigzag_mask(&coefficients, &order), gathered);
            }
        }
        for (k, &i) in order.at.iter().enumerate() {
            assert_eq!(usize::from(order.zigzag[usize::from(i)]), k);
        }
    }
}
