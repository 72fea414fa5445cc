//! The DC scans of progressive JPEGs: the first pass (differences from the previous
//! block's DC, times 2^Al) and the refinement passes (one more bit each).
//!
//! A progressive JPEG stores the DC coefficients in scans of their own, ahead of the
//! AC scans; at 1/8 scale they are all a decode needs (every 8×8 block becomes one
//! pixel, libjpeg's 1×1 "IDCT": `(dc * q0 + 4) >> 3` plus 128), so there the AC scans
//! are stepped over by looking for the next marker ([`super::progressive`]).

use super::entropy::Bits;
use super::markers::{Frame, Scan, Tables};
use super::scan::for_each_block;

/// Decodes one DC scan (first pass when `ah == 0`, refinement otherwise) starting at
/// `pos` into `coefs`, whose component planes hold `per_block` coefficients a block
/// with the DC first; returns the position where its entropy-coded data ends.
pub(super) fn decode_dc_scan(
    b: &[u8],
    pos: usize,
    frame: &Frame,
    t: &Tables,
    scan: &Scan,
    coefs: &mut [Vec<i16>],
    per_block: usize,
) -> Option<usize> {
    let huff = scan
        .comps
        .iter()
        .map(|&(_, td, _)| t.dc.get(td).and_then(Option::as_deref))
        .collect::<Vec<_>>();
    if scan.ah == 0 && huff.iter().any(Option::is_none) {
        return None;
    }
    let (ah, al) = (scan.ah, scan.al);
    let mut bits = Bits::new(b, pos);
    let unit = |bits: &mut Bits, pred: &mut [i32; 4], k: usize, at: usize| -> Option<()> {
        let ci = scan.comps[k].0;
        let slot = coefs.get_mut(ci)?.get_mut(at.checked_mul(per_block)?)?;
        if ah == 0 {
            let (size, diff) = bits.coefficient(huff[k]?)?;
            if size > 11 {
                return None;
            }
            pred[k] = pred[k].checked_add(diff)?;
            *slot = i16::try_from(pred[k].checked_shl(al)?).ok()?;
        } else if bits.bits(1) == 1 {
            *slot |= 1 << al;
        }
        Some(())
    };
    for_each_block(&mut bits, frame, scan, t.restart, unit)
}
