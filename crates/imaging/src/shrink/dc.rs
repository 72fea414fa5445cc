//! 1/8-scale decode of progressive JPEGs from their DC scans alone.
//!
//! At 1/8 scale every 8×8 block becomes one pixel, whose value is the block's DC
//! coefficient (libjpeg's 1×1 "IDCT": `(dc * q0 + 4) >> 3` plus 128). A progressive JPEG
//! stores the DC coefficients in scans of their own, ahead of the AC scans, so this
//! decoder Huffman-decodes only the DC scans and steps over every AC scan by looking for
//! the next marker. It keeps one `i16` per block (2.3 MB for 50 MP at 4:2:0) where a
//! full progressive decode keeps all 64 (`jpeg-decoder` needs 150 MB for 50 MP, more
//! than an instance may use), and it does a fraction of the entropy decoding.
//!
//! Anything unusual (arithmetic coding, 12-bit, CMYK, sampling ratios other than 1, 2
//! and 4, a component without a DC scan, corrupt or truncated DC scans) returns `None`
//! and the caller falls back to the general decoder.

use image::DynamicImage;

use super::entropy::Bits;
use super::idct::dc_sample;
use super::markers::{Frame, Scan, Tables, next_segment};
use super::output::Sink;
use super::scan::for_each_block;

/// Decodes the progressive JPEG `b` at 1/8 scale (`ceil(w/8)` × `ceil(h/8)`) from its DC
/// scans. `None`: not a file this decoder takes; use the general decoder.
pub(crate) fn decode_dc(b: &[u8]) -> Option<DynamicImage> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut t = Tables::default();
    // One DC coefficient per block of each component's MCU-padded plane.
    let mut coefs: Vec<Vec<i16>> = Vec::new();
    let mut dc_seen = Vec::new();
    let mut pos = 2;
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
                if coefs.is_empty() {
                    for (ci, c) in frame.comps.iter().enumerate() {
                        coefs.push(vec![0i16; frame.stride(ci) * frame.mcuy * c.v]);
                    }
                    dc_seen = vec![false; frame.comps.len()];
                }
                let scan = t.scan(seg.body)?;
                if scan.ss != 0 {
                    continue; // an AC scan: the next segment search steps over it
                }
                if scan.al > 13 {
                    return None;
                }
                pos = decode_dc_scan(b, pos, frame, &t, &scan, &mut coefs, 1)?;
                if scan.ah == 0 {
                    for &(ci, _, _) in &scan.comps {
                        dc_seen[ci] = true;
                    }
                }
            }
            _ => t.read(&seg)?,
        }
    }
    let frame = t.frame.as_ref()?;
    if dc_seen.is_empty() || dc_seen.contains(&false) {
        return None;
    }
    let q0 = frame
        .comps
        .iter()
        .map(|c| Some(i32::from(t.quant[c.tq]?[0])))
        .collect::<Option<Vec<_>>>()?;
    let mut sink = Sink::new(frame, 1, t.color()?)?;
    for my in 0..frame.mcuy {
        for (ci, band) in sink.bands().into_iter().enumerate() {
            let (v, stride) = (frame.comps[ci].v, frame.stride(ci));
            for r in 0..v {
                let src = coefs[ci].get((my * v + r) * stride..)?.get(..stride)?;
                let dst = band.rows.get_mut(r * band.stride..)?;
                for (d, &c) in dst.iter_mut().zip(src) {
                    *d = dc_sample(i32::from(c) * q0[ci]);
                }
            }
        }
        sink.push()?;
    }
    sink.finish()
}

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

#[cfg(test)]
mod tests {
    use super::decode_dc;
    use image::DynamicImage;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    /// jpeg-decoder's own 1/8 decode of the same file: the reference.
    fn reference(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut d = jpeg_decoder::Decoder::new(bytes);
        d.read_info().unwrap();
        let info = d.info().unwrap();
        let (w, h) = d
            .scale(info.width.div_ceil(8), info.height.div_ceil(8))
            .unwrap();
        (u32::from(w), u32::from(h), d.decode().unwrap())
    }

    /// Pillow-made progressive JPEGs (333x251: partial MCUs at both edges; libjpeg's
    /// scan script, whose DC scans use successive approximation) decode like
    /// jpeg-decoder's scaled decode, up to chroma upsampling details.
    #[test]
    fn dc_decode_matches_jpeg_decoder_at_one_eighth() {
        for name in [
            "progressive-grey.jpg",
            "progressive-444.jpg",
            "progressive-420.jpg",
            "progressive-422.jpg",
            "progressive-444.jpg",
            "progressive-420-restart.jpg",
            "progressive-grey.jpg",
        ] {
            let bytes = std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
            let img = decode_dc(&bytes).unwrap_or_else(|| panic!("{name}: not decoded"));
            let (w, h, want) = reference(&bytes);
            assert_eq!((img.width(), img.height()), (w, h), "{name}");
            assert_eq!((w, h), (42, 32), "{name}");
            let got = match &img {
                DynamicImage::ImageLuma8(g) => g.as_raw().clone(),
                DynamicImage::ImageRgb8(c) => c.as_raw().clone(),
                _ => unreachable!(),
            };
            assert_eq!(got.len(), want.len(), "{name}");
            let diffs: Vec<i32> = got
                .iter()
                .zip(&want)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
                .collect();
            let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
            let max = *diffs.iter().max().unwrap();
            eprintln!("{name}: mean {mean:.2}, max {max}");
            assert!(mean < 1.5 && max <= 4, "{name}: mean {mean:.2}, max {max}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_take() {
        let bytes = std::fs::read(format!("{FIXTURES}/progressive-420.jpg")).unwrap();
        // Truncated before the first DC scan ends, or at any point: never a panic.
        for cut in (0..bytes.len()).step_by(97) {
            let _ = decode_dc(&bytes[..cut]);
        }
        // Flipped bytes: never a panic.
        for at in (0..bytes.len()).step_by(13) {
            let mut b = bytes.clone();
            b[at] ^= 0x5A;
            let _ = decode_dc(&b);
        }
        assert!(decode_dc(b"not a jpeg").is_none());
        assert!(decode_dc(&bytes[..bytes.len() / 50]).is_none());
    }
}
