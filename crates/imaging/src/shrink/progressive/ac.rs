//! One block of a progressive AC scan: a first pass over a band of coefficients or a
//! refinement pass (JPEG's Annex G.1.2.2 and G.1.2.3, libjpeg's `decode_mcu_AC_first`
//! and `decode_mcu_AC_refine`), storing only the coefficients of the kept corner but
//! tracking every nonzero position in the block's mask.

use super::super::baseline::NOT_KEPT;
use super::super::entropy::{Bits, Huffman};

/// An AC scan's band and what is kept of it.
pub(super) struct Band<'a> {
    pub huff: &'a Huffman,
    /// First and last zigzag position of the band (1 <= ss <= se <= 63).
    pub ss: usize,
    pub se: usize,
    /// The bit position the scan codes (successive approximation's Al).
    pub al: u32,
    /// Kept-corner index of each zigzag position, or `NOT_KEPT`.
    pub corner: &'a [u8; 64],
    /// The zigzag positions up to the last kept one, as a mask.
    pub kept: u64,
}

/// The positions `a..b` (0 <= a <= b <= 64) as a mask.
#[inline(always)]
pub(super) fn between(a: usize, b: usize) -> u64 {
    let below = |n: usize| 1u64.checked_shl(n as u32).map_or(u64::MAX, |v| v - 1);
    below(b) & !below(a)
}

impl Band<'_> {
    /// A first pass over the band: run-length coded values (times 2^al) and end-of-band
    /// runs, which cover this block's rest and the next `eobrun` blocks.
    #[inline(always)]
    pub fn first(
        &self,
        bits: &mut Bits,
        eobrun: &mut u32,
        mask: &mut u64,
        coefs: &mut [i16],
    ) -> Option<()> {
        if *eobrun > 0 {
            *eobrun -= 1;
            return Some(());
        }
        let mut k = self.ss;
        while k <= self.se {
            let (rs, v) = bits.coefficient(self.huff)?;
            let (r, s) = ((rs >> 4) as usize, rs & 15);
            if s == 0 {
                if r < 15 {
                    *eobrun = (1 << r) + bits.bits(r as u32) - 1;
                    break;
                }
                k += 16; // sixteen zeros
                continue;
            }
            k += r;
            if k > self.se {
                return None;
            }
            *mask |= 1 << k;
            self.store(coefs, k, v << self.al)?;
            k += 1;
        }
        Some(())
    }

    /// A refinement pass: one more bit of every coefficient already nonzero in the band
    /// (a correction bit for each, in order) and newly nonzero coefficients of ±2^al,
    /// each coded with the run of still-zero positions before it; an end-of-band run
    /// leaves only correction bits for the rest of this block and the next `eobrun`.
    #[inline(always)]
    pub fn refine(
        &self,
        bits: &mut Bits,
        eobrun: &mut u32,
        mask: &mut u64,
        coefs: &mut [i16],
    ) -> Option<()> {
        let mut k = self.ss;
        if *eobrun == 0 {
            while k <= self.se {
                let (rs, v) = bits.coefficient(self.huff)?;
                let (r, s) = (rs >> 4, rs & 15);
                let new = match s {
                    1 => v, // the sign: +1 or -1
                    0 if r < 15 => {
                        *eobrun = (1 << r) + bits.bits(r);
                        break;
                    }
                    0 => 0, // sixteen zeros
                    _ => return None,
                };
                // The new coefficient's place (past 16 zeros for a ZRL): the zero
                // position `r` zeros on, passing nonzero ones (their correction bits).
                let mut zeros = !*mask & between(k, self.se + 1);
                for _ in 0..r {
                    zeros &= zeros.wrapping_sub(1);
                }
                let place = if zeros == 0 {
                    self.se + 1
                } else {
                    zeros.trailing_zeros() as usize
                };
                self.corrections(bits, coefs, *mask & between(k, place))?;
                k = place;
                if new != 0 {
                    if k > self.se {
                        return None;
                    }
                    *mask |= 1 << k;
                    self.store(coefs, k, new << self.al)?;
                }
                k += 1;
            }
        }
        if *eobrun > 0 {
            self.corrections(bits, coefs, *mask & between(k, self.se + 1))?;
            *eobrun -= 1;
        }
        Some(())
    }

    /// Reads the correction bits of the nonzero coefficients at the positions set in
    /// `nonzero`, in order: one by one in the kept corner, in bulk past it.
    #[inline(always)]
    fn corrections(&self, bits: &mut Bits, coefs: &mut [i16], nonzero: u64) -> Option<()> {
        let mut kept = nonzero & self.kept;
        while kept != 0 {
            self.correct(bits, coefs, kept.trailing_zeros() as usize)?;
            kept &= kept - 1;
        }
        let mut skip = (nonzero & !self.kept).count_ones();
        while skip > 0 {
            let n = skip.min(16);
            bits.bits(n);
            skip -= n;
        }
        Some(())
    }

    /// Reads the correction bit of the nonzero coefficient at `k`: when set, its
    /// magnitude grows by 2^al (unless that bit is already there).
    #[inline(always)]
    fn correct(&self, bits: &mut Bits, coefs: &mut [i16], k: usize) -> Option<()> {
        if bits.bits(1) == 1 && self.corner[k] != NOT_KEPT {
            let c = coefs.get_mut(usize::from(self.corner[k]))?;
            let p1 = 1i16 << self.al;
            if *c & p1 == 0 {
                *c = if *c >= 0 {
                    c.wrapping_add(p1)
                } else {
                    c.wrapping_sub(p1)
                };
            }
        }
        Some(())
    }

    /// Stores `value` at zigzag position `k` if it is in the kept corner.
    #[inline(always)]
    fn store(&self, coefs: &mut [i16], k: usize, value: i32) -> Option<()> {
        if self.corner[k] != NOT_KEPT {
            *coefs.get_mut(usize::from(self.corner[k]))? = i16::try_from(value).ok()?;
        }
        Some(())
    }
}
