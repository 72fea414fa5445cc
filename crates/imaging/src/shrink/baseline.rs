//! Decode of baseline (sequential Huffman) JPEGs at full size, 1/2, 1/4 and 1/8.
//!
//! At full size each 8×8 block goes through libjpeg's integer IDCT ([`super::idct8`]).
//! Scaled, it becomes 4×4, 2×2 or 1×1 samples computed from its lowest 16, 4 or 1
//! coefficients: only those are dequantised and kept; the others are Huffman-decoded
//! just far enough to step over them (their magnitude bits are skipped, not read). The
//! image is decoded one MCU row at a time into a band that [`Sink`] turns into output
//! rows, so memory is the output and two bands.
//!
//! Takes 8-bit frames of 1 or 3 components coded in one interleaved scan, with
//! sampling ratios 1, 2 or 4 and any restart interval. Anything else, and any data
//! error (bad code, truncation, a missing restart marker), returns `None`: the caller
//! falls back to `jpeg-decoder`, which decodes or reports it.

use image::DynamicImage;

use super::entropy::{Bits, Huffman};
use super::idct::{dc_sample, flat, idct2x2, idct4x4};
use super::idct8::idct8x8;
use super::markers::{Frame, Tables, next_segment};
use super::output::{Band, Sink};

/// Natural (row-major) index of each zigzag position (JPEG's, Figure A.6): the
/// decoders' and `jpeg_writer`'s.
pub(crate) const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// For each zigzag position, its index in the `s`×`s` corner of lowest coefficients
/// (row-major), or `NOT_KEPT`.
const fn corner(s: usize) -> [u8; 64] {
    let mut t = [NOT_KEPT; 64];
    let mut k = 0;
    while k < 64 {
        let (r, c) = (ZIGZAG[k] as usize / 8, ZIGZAG[k] as usize % 8);
        if r < s && c < s {
            t[k] = (r * s + c) as u8;
        }
        k += 1;
    }
    t
}

/// The last zigzag position inside the `s`×`s` corner.
const fn last_kept(s: usize) -> usize {
    let t = corner(s);
    let mut k = 63;
    while t[k] == NOT_KEPT {
        k -= 1;
    }
    k
}

/// Entropy-coded bytes from which a decode at 1/4 or 1/8 widens its AC tables' run
/// lookahead (`Huffman::widen_runs`): below it, building the wider table costs about
/// what it saves (a 2 MP photo, 0.46 MB, showed no gain; 12 MP, 2.5 MB, 8%).
const LONG_RUNS_FROM: usize = 1 << 20;

pub(super) const NOT_KEPT: u8 = u8::MAX;
pub(super) const CORNER2: [u8; 64] = corner(2);
pub(super) const CORNER4: [u8; 64] = corner(4);
pub(super) const LAST2: usize = last_kept(2);
pub(super) const LAST4: usize = last_kept(4);

/// One component of the scan, with what its blocks need.
struct Unit<'t> {
    /// Frame component index (selects the band).
    ci: usize,
    h: usize,
    v: usize,
    dc: &'t Huffman,
    ac: &'t Huffman,
    /// Quantisation table in zigzag order.
    q: [i32; 64],
}

/// Decodes the baseline JPEG `b` at 1/`d` scale (`d` = 1, 2, 4 or 8): `ceil(w/d)` ×
/// `ceil(h/d)` pixels. `None`: not a file this decoder takes, or corrupt.
pub(crate) fn decode(b: &[u8], d: u32) -> Option<DynamicImage> {
    let s = match d {
        1 => 8,
        2 => 4,
        4 => 2,
        8 => 1,
        _ => return None,
    };
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut t = Tables::default();
    let mut pos = 2;
    let (scan, start) = loop {
        let seg = next_segment(b, pos)?;
        match seg.marker {
            0xDA => break (t.scan(seg.body)?, seg.end),
            0xD9 => return None,
            _ => t.read(&seg)?,
        }
        pos = seg.end;
    };
    // A large image at 1/4 or 1/8 is nearly all AC codes stepped over: a longer
    // lookahead for that pays for its table.
    if s <= 2 && b.len().saturating_sub(start) >= LONG_RUNS_FROM {
        for h in t.ac.iter_mut().flatten() {
            h.widen_runs();
        }
    }
    let frame = t.frame.as_ref()?;
    // One scan with every component, all coefficients at full precision: baseline.
    if frame.progressive
        || scan.comps.len() != frame.comps.len()
        || (scan.ss, scan.se, scan.ah, scan.al) != (0, 63, 0, 0)
    {
        return None;
    }
    let units = scan
        .comps
        .iter()
        .map(|&(ci, td, ta)| {
            let c = &frame.comps[ci];
            let quant = t.quant[c.tq]?;
            Some(Unit {
                ci,
                h: c.h,
                v: c.v,
                dc: t.dc.get(td)?.as_deref()?,
                ac: t.ac.get(ta)?.as_deref()?,
                q: quant.map(i32::from),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let mut sink = Sink::new(frame, s, t.color()?)?;
    let bits = Bits::new(b, start);
    match s {
        1 => decode_scan::<1>(bits, frame, &units, t.restart, &mut sink)?,
        2 => decode_scan::<2>(bits, frame, &units, t.restart, &mut sink)?,
        4 => decode_scan::<4>(bits, frame, &units, t.restart, &mut sink)?,
        _ => decode_scan::<8>(bits, frame, &units, t.restart, &mut sink)?,
    }
    sink.finish()
}

/// Decodes every MCU of the scan, `S`×`S` samples per block, a band per MCU row.
/// Owns the reader, so that it lives in registers.
fn decode_scan<const S: usize>(
    mut bits: Bits,
    frame: &Frame,
    units: &[Unit],
    restart: usize,
    sink: &mut Sink,
) -> Option<()> {
    let mut pred = [0i32; 3];
    let mut left = restart; // MCUs left in the current restart interval
    for _ in 0..frame.mcuy {
        let mut bands = sink.bands();
        for mx in 0..frame.mcux {
            if restart > 0 {
                if left == 0 {
                    bits.restart()?;
                    pred = [0; 3];
                    left = restart;
                }
                left -= 1;
            }
            for (u, pred) in units.iter().zip(&mut pred) {
                let Band { rows, stride } = bands.get_mut(u.ci)?;
                for by in 0..u.v {
                    for bx in 0..u.h {
                        let at = by * S * *stride + (mx * u.h + bx) * S;
                        block::<S>(&mut bits, u, pred, rows.get_mut(at..)?, *stride)?;
                    }
                }
            }
        }
        if bits.overrun() {
            return None; // truncated, or corrupt codes ran into a marker
        }
        sink.push()?;
    }
    Some(())
}

/// Decodes one block and writes its `S`×`S` samples to `out` (`stride` bytes per row).
#[inline(always)]
fn block<const S: usize>(
    bits: &mut Bits,
    u: &Unit,
    pred: &mut i32,
    out: &mut [u8],
    stride: usize,
) -> Option<()> {
    let (size, diff) = bits.coefficient(u.dc)?;
    if size > 11 {
        return None;
    }
    *pred = pred.wrapping_add(diff);
    let dc = pred.wrapping_mul(u.q[0]);
    if S == 1 {
        bits.skip_ac(u.ac, 1)?;
        *out.first_mut()? = dc_sample(dc);
        return Some(());
    }
    if S == 8 {
        return full_block(bits, u, dc, out, stride);
    }
    let (corner, last) = if S == 2 {
        (&CORNER2, LAST2)
    } else {
        (&CORNER4, LAST4)
    };
    let mut c = [0i32; 16];
    c[0] = dc;
    let mut any_ac = false;
    let k = bits.ac(u.ac, last, |k, v| {
        let slot = corner[k];
        if slot != NOT_KEPT {
            c[usize::from(slot)] = v.wrapping_mul(u.q[k]);
            any_ac = true;
        }
    })?;
    if k < 64 {
        bits.skip_ac(u.ac, k as u32)?;
    } else if k > 64 {
        return None;
    }
    if !any_ac {
        flat(dc, S, out, stride)?;
    } else if S == 2 {
        idct2x2(c[..4].try_into().ok()?, out, stride);
    } else {
        idct4x4(&c, out, stride);
    }
    Some(())
}

/// The AC coefficients of a block after its dequantised DC `dc`, all of them, and its
/// 8×8 samples: a block without AC coefficients (most of a photo's chroma, smooth
/// areas) is flat and skips the IDCT.
#[inline(always)]
fn full_block(bits: &mut Bits, u: &Unit, dc: i32, out: &mut [u8], stride: usize) -> Option<()> {
    // 16 bits, as libjpeg-turbo's SIMD keeps them: every value an encoder writes fits.
    let mut c = [0i16; 64];
    c[0] = dc as i16;
    let mut any_ac = false;
    // Bit 2 of a row or column index: set when a coefficient lies outside the top-left
    // 4×4, where the IDCT has twice the work.
    let mut outside = 0;
    let k = bits.ac(u.ac, 63, |k, v| {
        let at = usize::from(ZIGZAG[k]);
        c[at] = v.wrapping_mul(u.q[k]) as i16;
        outside |= at & 0b100_100;
        any_ac = true;
    })?;
    if k > 64 {
        return None;
    }
    if any_ac {
        idct8x8(&c, outside == 0, out, stride);
        Some(())
    } else {
        flat(dc, 8, out, stride)
    }
}
