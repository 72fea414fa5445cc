//! The order in which a scan codes its blocks, shared by the decoders that keep
//! coefficients across scans (progressive DC and AC scans).
//!
//! An interleaved scan (several components) codes whole MCUs, each component's
//! `h`×`v` blocks in turn, over the MCU-padded planes; a scan of one component codes
//! that component's blocks in raster order over the part the image covers (`bw`×`bh`,
//! no MCU padding). Restart markers come every `restart` MCUs (blocks, for one
//! component) and reset whatever the scan carries from block to block (DC predictions,
//! the end-of-band run), which is why the walk owns that state.

use super::entropy::Bits;
use super::markers::{Frame, Scan};

/// Calls `unit(bits, state, k, at)` for every block of `scan` in coding order: `k` is
/// the index in `scan.comps`, `at` the block's index in its component's plane
/// (`frame.stride(ci)` blocks per line). `state` starts as `S::default()` and is reset
/// at every restart marker. Returns the position where the scan's data ends; `None`
/// on a missing restart marker, truncated data or any `None` from `unit`.
pub(super) fn for_each_block<S: Default>(
    bits: &mut Bits,
    frame: &Frame,
    scan: &Scan,
    restart: usize,
    mut unit: impl FnMut(&mut Bits, &mut S, usize, usize) -> Option<()>,
) -> Option<usize> {
    let mut state = S::default();
    let single = match scan.comps[..] {
        [(ci, _, _)] => Some((ci, frame.stride(ci))),
        _ => None,
    };
    let (mcus_x, mcus_y) = match single {
        Some((ci, _)) => (frame.comps[ci].bw, frame.comps[ci].bh),
        None => (frame.mcux, frame.mcuy),
    };
    let mut left = restart; // MCUs left in the current restart interval
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if restart > 0 {
                if left == 0 {
                    bits.restart()?;
                    state = S::default();
                    left = restart;
                }
                left -= 1;
            }
            if let Some((_, stride)) = single {
                unit(bits, &mut state, 0, my * stride + mx)?;
                continue;
            }
            for (k, &(ci, _, _)) in scan.comps.iter().enumerate() {
                let (c, stride) = (&frame.comps[ci], frame.stride(ci));
                for by in 0..c.v {
                    for bx in 0..c.h {
                        unit(
                            bits,
                            &mut state,
                            k,
                            (my * c.v + by) * stride + mx * c.h + bx,
                        )?;
                    }
                }
            }
        }
    }
    if bits.overrun() {
        return None;
    }
    // The reader stops before the next marker; the segment search starts there.
    Some(bits.position())
}
