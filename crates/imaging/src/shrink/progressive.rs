//! Scaled decode of progressive JPEGs at 1/2, 1/4 and 1/8, keeping only the
//! coefficients the scale needs.
//!
//! A progressive file spreads every block over several scans (DC, bands of AC
//! coefficients, refinement bits), so nothing can be output before the last scan and
//! the coefficients of the whole image must be kept. `jpeg-decoder` keeps all 64 of
//! every block (2 bytes each: 3 bytes a pixel at 4:2:0, more than a 128 MiB instance
//! has for 40 MP). At 1/`d` scale a block becomes `s`×`s` samples (s = 8/d) computed
//! from its `s`×`s` lowest coefficients alone, so we keep just those (i16 each), plus a
//! 64-bit mask of the block's nonzero positions: AC refinement scans send a correction
//! bit for every coefficient already nonzero in their band, so decoding them needs to
//! know which are, stored or not. At 1/4 that is 16 bytes a block (0.375 bytes a pixel at
//! 4:2:0), at 1/2 40 bytes; at 1/8 only the DC is kept (2 bytes a block) and every AC
//! scan is stepped over. Scans of bands past the kept corner are stepped over by a
//! marker search unless a later refinement of the kept corner needs their mask bits
//! (libjpeg's scripts refine 1..63 in one band, so there they are decoded for the mask).
//! After the last scan each block goes through the reduced IDCT into [`Sink`] bands, as
//! in the baseline decoder.
//!
//! Takes 8-bit frames of 1 or 3 components with sampling ratios 1, 2 and 4, restarts
//! and successive approximation; anything else (arithmetic coding, 12-bit, CMYK, a
//! component without a DC scan), any data error, or more memory than `max_alloc`
//! returns `None` and the caller falls back to `jpeg-decoder`.

mod ac;

use image::DynamicImage;

use super::baseline::{CORNER2, CORNER4, LAST2, LAST4, NOT_KEPT};
use super::dc::decode_dc_scan;
use super::entropy::Bits;
use super::idct::samples;
use super::markers::{Frame, Scan, Tables, next_segment};
use super::output::Sink;
use super::scan::for_each_block;
use ac::{Band, between};

/// Decodes the progressive JPEG `b` at 1/`d` scale (`d` = 2, 4 or 8): `ceil(w/d)` ×
/// `ceil(h/d)` pixels, allocating at most about `max_alloc` bytes. `None`: not a file
/// this decoder takes, corrupt, or too large.
pub(crate) fn decode(b: &[u8], d: u32, max_alloc: u64) -> Option<DynamicImage> {
    match d {
        2 => decode_at::<4>(b, &CORNER4, LAST4, max_alloc),
        4 => decode_at::<2>(b, &CORNER2, LAST2, max_alloc),
        8 => decode_at::<1>(b, &CORNER1, 0, max_alloc),
        _ => None,
    }
}

/// At 1/8 only the DC is kept.
const CORNER1: [u8; 64] = {
    let mut t = [NOT_KEPT; 64];
    t[0] = 0;
    t
};

/// The bytes `jpeg-decoder` allocates for the coefficients of a progressive `frame`
/// (all 64 of every block of the MCU-padded planes, 2 bytes each).
pub(super) fn full_coefficient_bytes(frame: &Frame) -> Option<u64> {
    (0..frame.comps.len()).try_fold(0u64, |sum, ci| {
        sum.checked_add(u64::try_from(frame.blocks(ci)?).ok()?.checked_mul(128)?)
    })
}

/// The decode with `S`×`S` samples a block; `corner` maps zigzag positions to the
/// kept corner (row-major), `last` is the last kept zigzag position.
fn decode_at<const S: usize>(
    b: &[u8],
    corner: &'static [u8; 64],
    last: usize,
    max_alloc: u64,
) -> Option<DynamicImage> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut t = Tables::default();
    let mut store: Option<Store> = None;
    let mut plan: Option<Plan> = None;
    let mut dc_seen = Vec::new();
    let mut pos = 2;
    let mut index = 0; // of the scan
    loop {
        let seg = next_segment(b, pos)?;
        pos = seg.end;
        match seg.marker {
            0xD9 => break,
            0xDA => {
                let frame = t.frame.as_ref()?;
                if !frame.progressive {
                    return None;
                }
                if store.is_none() {
                    store = Some(Store::new(frame, S, corner, last, max_alloc)?);
                    dc_seen = vec![false; frame.comps.len()];
                }
                let store = store.as_mut()?;
                let scan = t.scan(seg.body)?;
                index += 1;
                if scan.al > 13 || scan.ah > 13 {
                    return None;
                }
                if scan.ss == 0 {
                    if scan.se != 0 {
                        return None; // DC and AC never share a progressive scan
                    }
                    pos = decode_dc_scan(b, pos, frame, &t, &scan, &mut store.coefs, S * S)?;
                    if scan.ah == 0 {
                        scan.comps.iter().for_each(|&(ci, _, _)| dc_seen[ci] = true);
                    }
                    continue;
                }
                // Past the kept corner: at 1/8 (DC only) never needed, else the plan says.
                if usize::from(scan.ss) > last
                    && (last == 0
                        || !plan
                            .get_or_insert_with(|| Plan::new(b, seg.body, pos, index, last))
                            .needs(index))
                {
                    continue; // the next segment search steps over it
                }
                pos = store.decode_ac_scan(b, pos, frame, &t, &scan)?;
            }
            _ => t.read(&seg)?,
        }
    }
    if dc_seen.is_empty() || dc_seen.contains(&false) {
        return None;
    }
    store?.output::<S>(t.frame.as_ref()?, &t)
}

/// The AC scans decoded when their band lies past the kept corner: those whose nonzero
/// positions a later decoded refinement scan of the same component needs to know.
/// Worked out once, from the scan headers of the rest of the file, the first time such
/// a scan comes (never, for files whose bands all start in the corner).
struct Plan {
    /// Number of the first scan in `needed`.
    first: usize,
    needed: Vec<bool>,
}

/// The parts of a scan header the plan looks at.
struct Header {
    /// Component id when the scan has one component (AC scans always have one).
    id: Option<u8>,
    ss: usize,
    se: usize,
    ah: u8,
}

impl Header {
    fn parse(body: &[u8]) -> Option<Header> {
        let ns = usize::from(*body.first()?);
        let tail = body.get(1 + 2 * ns..4 + 2 * ns)?;
        Some(Header {
            id: if ns == 1 { body.get(1).copied() } else { None },
            ss: usize::from(tail[0]),
            se: usize::from(tail[1]),
            ah: tail[2] >> 4,
        })
    }
}

impl Plan {
    /// Most scans a file is planned for; past that, every scan is decoded (the planning
    /// is quadratic in the number of scans).
    const MAX_SCANS: usize = 256;

    /// The plan from scan number `first` on, whose header is `body` and whose data
    /// starts at `pos`.
    fn new(b: &[u8], body: &[u8], mut pos: usize, first: usize, last: usize) -> Plan {
        let mut headers = vec![Header::parse(body)];
        while headers.len() <= Self::MAX_SCANS
            && let Some(seg) = next_segment(b, pos)
            && seg.marker != 0xD9
        {
            if seg.marker == 0xDA {
                headers.push(Header::parse(seg.body));
            }
            pos = seg.end;
        }
        let mut needed = vec![true; headers.len()];
        if headers.len() <= Self::MAX_SCANS {
            // Backwards, so that whether each later scan is decoded is known.
            for i in (0..headers.len()).rev() {
                let Some(a) = &headers[i] else { continue };
                needed[i] = a.id.is_none()
                    || a.ss <= last
                    || headers.iter().zip(&needed).skip(i + 1).any(|(h, &n)| {
                        h.as_ref().is_none_or(|h| {
                            n && h.ah > 0 && h.id == a.id && h.ss <= a.se && a.ss <= h.se
                        })
                    });
            }
        }
        Plan { first, needed }
    }

    /// Whether scan number `index` must be decoded.
    fn needs(&self, index: usize) -> bool {
        index
            .checked_sub(self.first)
            .and_then(|i| self.needed.get(i).copied())
            .unwrap_or(true)
    }
}

/// The coefficients kept until the last scan, per block of each component's MCU-padded
/// plane: the `n` of the kept corner (row-major, DC first) and, unless only the DC is
/// kept (no AC scan is decoded then), the mask of the block's nonzero AC positions (bit
/// `k` for zigzag position `k`).
struct Store {
    coefs: Vec<Vec<i16>>,
    masks: Vec<Vec<u64>>,
    corner: &'static [u8; 64],
    /// The last kept zigzag position.
    last: usize,
    n: usize,
}

impl Store {
    /// Zeroed coefficients for `frame` at `s`×`s` samples a block; `None` when they and
    /// the output image would take more than `max_alloc` bytes.
    fn new(
        frame: &Frame,
        s: usize,
        corner: &'static [u8; 64],
        last: usize,
        max_alloc: u64,
    ) -> Option<Store> {
        let n = s * s;
        let mask_bytes = if n > 1 { 8 } else { 0 };
        let per_block = mask_bytes + 2 * n as u64;
        let mut total = 0u64;
        for ci in 0..frame.comps.len() {
            let blocks = u64::try_from(frame.blocks(ci)?).ok()?;
            total = total.checked_add(blocks.checked_mul(per_block)?)?;
        }
        let channels = if frame.comps.len() == 1 { 1 } else { 3 };
        let out = (frame.width * s).div_ceil(8) as u64 * (frame.height * s).div_ceil(8) as u64;
        if total.checked_add(out.checked_mul(channels)?)? > max_alloc {
            return None;
        }
        let blocks = |ci| frame.blocks(ci);
        Some(Store {
            coefs: (0..frame.comps.len())
                .map(|ci| Some(vec![0i16; blocks(ci)?.checked_mul(n)?]))
                .collect::<Option<_>>()?,
            masks: (0..frame.comps.len())
                .map(|ci| Some(vec![0u64; if n > 1 { blocks(ci)? } else { 0 }]))
                .collect::<Option<_>>()?,
            corner,
            last,
            n,
        })
    }

    /// Decodes the AC scan whose data starts at `pos`; returns where its data ends.
    fn decode_ac_scan(
        &mut self,
        b: &[u8],
        pos: usize,
        frame: &Frame,
        t: &Tables,
        scan: &Scan,
    ) -> Option<usize> {
        let [(ci, _, ta)] = scan.comps[..] else {
            return None; // AC scans have one component
        };
        let (ss, se) = (usize::from(scan.ss), usize::from(scan.se));
        if ss > se || se > 63 {
            return None;
        }
        let band = Band {
            huff: t.ac.get(ta)?.as_deref()?,
            ss,
            se,
            al: scan.al,
            corner: self.corner,
            kept: between(0, self.last + 1),
        };
        let n = self.n;
        let (coefs, masks) = (self.coefs.get_mut(ci)?, self.masks.get_mut(ci)?);
        let mut bits = Bits::new(b, pos);
        let refine = scan.ah > 0;
        for_each_block(&mut bits, frame, scan, t.restart, |bits, eobrun, _, at| {
            let mask = masks.get_mut(at)?;
            let coefs = coefs.get_mut(at * n..at * n + n)?;
            if refine {
                band.refine(bits, eobrun, mask, coefs)
            } else {
                band.first(bits, eobrun, mask, coefs)
            }
        })
    }

    /// Dequantises and inverse-transforms every block into the output image.
    fn output<const S: usize>(self, frame: &Frame, t: &Tables) -> Option<DynamicImage> {
        let n = S * S;
        // Quantisation steps in corner order, per component.
        let quant = frame
            .comps
            .iter()
            .map(|c| {
                let zz = t.quant[c.tq]?;
                let mut q = [0i32; 16];
                for (k, &slot) in self.corner.iter().enumerate() {
                    if slot != NOT_KEPT {
                        q[usize::from(slot)] = i32::from(zz[k]);
                    }
                }
                Some(q)
            })
            .collect::<Option<Vec<_>>>()?;
        let mut sink = Sink::new(frame, S, t.color()?)?;
        for my in 0..frame.mcuy {
            for (ci, band) in sink.bands().into_iter().enumerate() {
                let (v, stride) = (frame.comps[ci].v, frame.stride(ci));
                for r in 0..v {
                    let first = (my * v + r) * stride;
                    let row = self.coefs[ci].get(first * n..(first + stride) * n)?;
                    for (bx, block) in row.chunks_exact(n).enumerate() {
                        let mut c = [0i32; 16];
                        for ((c, &v), &q) in c.iter_mut().zip(block).zip(&quant[ci]) {
                            *c = i32::from(v) * q;
                        }
                        let out = band.rows.get_mut(r * S * band.stride + bx * S..)?;
                        samples::<S>(&c, out, band.stride)?;
                    }
                }
            }
            sink.push()?;
        }
        sink.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::baseline::{LAST2, LAST4};
    use super::super::markers::next_segment;
    use super::Plan;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    /// Which scans of a file the plan made at its first scan decodes, keeping zigzag
    /// positions up to `last`.
    fn planned(name: &str, last: usize) -> Vec<bool> {
        let b = std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
        let mut pos = 2;
        loop {
            let seg = next_segment(&b, pos).unwrap();
            if seg.marker == 0xDA {
                let plan = Plan::new(&b, seg.body, seg.end, 1, last);
                return (1..=plan.needed.len()).map(|i| plan.needs(i)).collect();
            }
            pos = seg.end;
        }
    }

    /// Bands past the kept corner are stepped over unless a later refinement that is
    /// decoded overlaps them (scripts in `tests/jpeg_scaled.rs`).
    #[test]
    fn plan_steps_over_bands_nothing_decoded_refines() {
        let (t, f) = (true, false);
        // 1/4: luma 10-63 and its refinement, Cr 6-63 (refined 1-5 only) stepped over.
        assert_eq!(
            planned("progressive-420-script.jpg", LAST2),
            [t, t, t, f, t, t, f, t, f, t, t]
        );
        assert_eq!(planned("progressive-420-script.jpg", LAST4), [t; 11]);
        // 6-63 is refined by 1-63: decoded for its mask; 30-63's refinement is not.
        for last in [LAST2, LAST4] {
            assert_eq!(
                planned("progressive-grey-script.jpg", last),
                [t, t, t, t, t, f, t, t]
            );
        }
        // libjpeg's script: everything (luma 6-63 for the 1-63 refinements' mask).
        assert!(planned("progressive-420.jpg", LAST2).iter().all(|&n| n));
    }
}
