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
//! Anything unusual (arithmetic coding, 12-bit, CMYK, Adobe RGB transform, non-integer
//! sampling ratios, a component without a DC scan, corrupt data) returns `None` and the
//! caller falls back to the general decoder.

use image::{DynamicImage, GrayImage, RgbImage};

/// A DC Huffman table in the canonical form of JPEG's Annex F (`maxcode`/`valptr`).
#[derive(Clone)]
struct Huffman {
    /// `maxcode[l]`: the largest code of length `l` (1..=16), or -1 when there is none.
    maxcode: [i32; 18],
    /// `valoff[l]`: index into `values` of the first code of length `l`, minus that code.
    valoff: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Option<Huffman> {
        let mut maxcode = [-1i32; 18];
        let mut valoff = [0i32; 17];
        let mut code = 0i32;
        let mut k = 0i32;
        for l in 1..=16 {
            let n = i32::from(counts[l - 1]);
            if n > 0 {
                valoff[l] = k - code;
                code += n;
                k += n;
                maxcode[l] = code - 1;
                if code > (1 << l) {
                    return None; // over-subscribed
                }
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX;
        (k as usize == values.len()).then(|| Huffman {
            maxcode,
            valoff,
            values: values.to_vec(),
        })
    }
}

/// Reads entropy-coded bits, undoing 0xFF00 stuffing; stops at the next marker.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    /// A marker (or the end of the data) was reached; zeros are fed from then on.
    hit_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            n: 0,
            hit_marker: false,
        }
    }

    fn fill(&mut self) {
        while self.n <= 56 {
            let mut byte = 0u8;
            if !self.hit_marker {
                match self.data.get(self.pos) {
                    None => self.hit_marker = true,
                    Some(&0xFF) => match self.data.get(self.pos + 1) {
                        Some(0x00) => {
                            byte = 0xFF;
                            self.pos += 2;
                        }
                        _ => self.hit_marker = true,
                    },
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            }
            self.acc |= u64::from(byte) << (56 - self.n);
            self.n += 8;
        }
    }

    fn bits(&mut self, count: u32) -> u32 {
        if count == 0 {
            return 0;
        }
        if self.n < count {
            self.fill();
        }
        let v = (self.acc >> (64 - count)) as u32;
        self.acc <<= count;
        self.n -= count;
        v
    }

    fn decode(&mut self, h: &Huffman) -> Option<u8> {
        if self.n < 16 {
            self.fill();
        }
        let mut code = 0i32;
        for l in 1..=16 {
            code = (code << 1) | self.bits(1) as i32;
            if code <= h.maxcode[l] {
                return h.values.get((h.valoff[l] + code) as usize).copied();
            }
        }
        None
    }

    /// After a restart interval: drop the buffered bits and step over the RSTn marker.
    fn restart(&mut self) -> Option<()> {
        self.acc = 0;
        self.n = 0;
        self.hit_marker = false;
        let p = next_marker(self.data, self.pos)?;
        if !matches!(self.data.get(p + 1)?, 0xD0..=0xD7) {
            return None;
        }
        self.pos = p + 2;
        Some(())
    }
}

/// Position of the next marker (0xFF followed by neither 0x00, 0xFF nor RSTn) at or
/// after `pos` when `skip_rst`, or the next marker of any kind (RSTn included).
fn next_marker_from(data: &[u8], mut pos: usize, skip_rst: bool) -> Option<usize> {
    loop {
        pos += data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match *data.get(pos + 1)? {
            0x00 | 0xFF => pos += 1,
            0xD0..=0xD7 if skip_rst => pos += 2,
            _ => return Some(pos),
        }
    }
}

fn next_marker(data: &[u8], pos: usize) -> Option<usize> {
    next_marker_from(data, pos, false)
}

#[derive(Clone, Copy)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Blocks per line and lines of blocks actually covered by the image.
    bw: usize,
    bh: usize,
    /// Blocks per line of the padded (whole-MCU) plane, as stored.
    stride: usize,
    dc_seen: bool,
}

fn extend(v: u32, t: u32) -> i32 {
    if t == 0 {
        0
    } else if v < (1 << (t - 1)) {
        v as i32 - (1 << t) + 1
    } else {
        v as i32
    }
}

/// Decodes the progressive JPEG `b` at 1/8 scale (`ceil(w/8)` × `ceil(h/8)`) from its DC
/// scans. `None`: not a file this decoder takes; use the general decoder.
pub(crate) fn decode_dc(b: &[u8]) -> Option<DynamicImage> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut q0 = [None::<i32>; 4];
    let mut dc_tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut restart = 0usize;
    let mut frame: Option<(usize, usize, Vec<Component>)> = None;
    let mut coefs: Vec<Vec<i16>> = Vec::new();
    let (mut hmax, mut vmax) = (1usize, 1usize);
    let mut pos = 2;
    loop {
        let p = next_marker_from(b, pos, true)?;
        let mut i = p + 1;
        while *b.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i)?;
        i += 1;
        if marker == 0xD9 {
            break; // EOI
        }
        if matches!(marker, 0x01 | 0xD0..=0xD8) {
            pos = i;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        let seg = b.get(i + 2..(i + len).max(i + 2))?;
        if len < 2 {
            return None;
        }
        pos = i + len;
        match marker {
            0xDB => {
                let mut s = seg;
                while !s.is_empty() {
                    let (pq, tq) = (s[0] >> 4, usize::from(s[0] & 15));
                    let size = if pq == 0 { 64 } else { 128 };
                    let q = if pq == 0 {
                        i32::from(*s.get(1)?)
                    } else {
                        i32::from(u16::from_be_bytes([*s.get(1)?, *s.get(2)?]))
                    };
                    *q0.get_mut(tq)? = Some(q);
                    s = s.get(1 + size..)?;
                }
            }
            0xC4 => {
                let mut s = seg;
                while !s.is_empty() {
                    let (class, id) = (s[0] >> 4, usize::from(s[0] & 15));
                    let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let values = s.get(17..17 + n)?;
                    if class == 0 {
                        *dc_tables.get_mut(id)? = Some(Huffman::new(&counts, values)?);
                    }
                    s = s.get(17 + n..)?;
                }
            }
            0xDD => restart = usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?])),
            // Adobe APP14 with transform 0: RGB (or CMYK) samples, not YCbCr.
            0xEE if seg.starts_with(b"Adobe") && seg.get(11) == Some(&0) => return None,
            0xC2 => {
                if frame.is_some() || *seg.first()? != 8 {
                    return None;
                }
                let h = usize::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
                let w = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
                let n = usize::from(*seg.get(5)?);
                if w == 0 || h == 0 || !matches!(n, 1 | 3) {
                    return None;
                }
                let mut comps = Vec::with_capacity(n);
                for c in 0..n {
                    let s = seg.get(6 + 3 * c..9 + 3 * c)?;
                    let (ch, cv) = (usize::from(s[1] >> 4), usize::from(s[1] & 15));
                    if !(1..=4).contains(&ch) || !(1..=4).contains(&cv) || s[2] > 3 {
                        return None;
                    }
                    comps.push(Component {
                        id: s[0],
                        h: ch,
                        v: cv,
                        tq: usize::from(s[2]),
                        bw: 0,
                        bh: 0,
                        stride: 0,
                        dc_seen: false,
                    });
                }
                if n == 3 && comps.iter().map(|c| c.id).eq(*b"RGB") {
                    return None; // RGB JPEG, not YCbCr
                }
                if n == 1 {
                    comps[0].h = 1; // a lone component's sampling factors do not matter
                    comps[0].v = 1;
                }
                hmax = comps.iter().map(|c| c.h).max()?;
                vmax = comps.iter().map(|c| c.v).max()?;
                if comps.iter().any(|c| hmax % c.h != 0 || vmax % c.v != 0) {
                    return None;
                }
                let (mcux, mcuy) = (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax));
                for c in &mut comps {
                    c.bw = (w * c.h).div_ceil(hmax).div_ceil(8);
                    c.bh = (h * c.v).div_ceil(vmax).div_ceil(8);
                    c.stride = mcux * c.h;
                    coefs.push(vec![0i16; c.stride * mcuy * c.v]);
                }
                frame = Some((w, h, comps));
            }
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDA => {
                let (w, h, comps) = frame.as_mut()?;
                let ns = usize::from(*seg.first()?);
                let mut sel = Vec::with_capacity(ns);
                for k in 0..ns {
                    let s = seg.get(1 + 2 * k..3 + 2 * k)?;
                    let ci = comps.iter().position(|c| c.id == s[0])?;
                    sel.push((ci, usize::from(s[1] >> 4)));
                }
                let tail = seg.get(1 + 2 * ns..4 + 2 * ns)?;
                let (ss, ah, al) = (tail[0], tail[2] >> 4, u32::from(tail[2] & 15));
                if ss != 0 || ns == 0 {
                    continue; // an AC scan: the next marker search steps over it
                }
                if al > 13 {
                    return None;
                }
                let end = decode_dc_scan(
                    b,
                    pos,
                    (*w, *h),
                    hmax,
                    vmax,
                    comps,
                    &sel,
                    &dc_tables,
                    &mut coefs,
                    restart,
                    ah,
                    al,
                )?;
                for &(ci, _) in &sel {
                    if ah == 0 {
                        comps[ci].dc_seen = true;
                    }
                }
                pos = end;
            }
            _ => {}
        }
    }
    let (w, h, comps) = frame?;
    if comps.iter().any(|c| !c.dc_seen) {
        return None;
    }
    // One sample per block: (dc * q0 + 4) >> 3, level-shifted and clamped.
    let planes: Vec<Vec<u8>> = comps
        .iter()
        .zip(&coefs)
        .map(|(c, cf)| {
            let q = q0[c.tq]?;
            Some(
                cf.iter()
                    .map(|&d| {
                        ((i32::from(d) * q + 4) >> 3)
                            .wrapping_add(128)
                            .clamp(0, 255) as u8
                    })
                    .collect(),
            )
        })
        .collect::<Option<_>>()?;
    let (ow, oh) = (w.div_ceil(8), h.div_ceil(8));
    if comps.len() == 1 {
        let stride = comps[0].stride;
        let mut out = Vec::with_capacity(ow * oh);
        for y in 0..oh {
            out.extend_from_slice(planes[0].get(y * stride..y * stride + ow)?);
        }
        return GrayImage::from_raw(ow as u32, oh as u32, out).map(DynamicImage::ImageLuma8);
    }
    // Subsampled planes: centred bilinear upsampling (libjpeg's "fancy" 3/4-1/4 weights
    // at 2x), clamped at the edges; then JFIF YCbCr -> RGB.
    let full: Vec<std::borrow::Cow<[u8]>> = comps
        .iter()
        .zip(&planes)
        .map(|(c, p)| upsample(p, c, hmax / c.h, vmax / c.v, ow, oh))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(ow * oh * 3);
    for ((&y, &cb), &cr) in full[0].iter().zip(full[1].iter()).zip(full[2].iter()) {
        let yv = i32::from(y) << 16;
        let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
        let r = (yv + 91_881 * cr + 32_768) >> 16;
        let g = (yv - 22_554 * cb - 46_802 * cr + 32_768) >> 16;
        let b = (yv + 116_130 * cb + 32_768) >> 16;
        out.extend([r, g, b].map(|v| v.clamp(0, 255) as u8));
    }
    RgbImage::from_raw(ow as u32, oh as u32, out).map(DynamicImage::ImageRgb8)
}

/// The `ow` x `oh` plane of component `c` (one sample per block, `rx` x `ry` subsampled).
fn upsample<'p>(
    p: &'p [u8],
    c: &Component,
    rx: usize,
    ry: usize,
    ow: usize,
    oh: usize,
) -> Option<std::borrow::Cow<'p, [u8]>> {
    let at = |x: usize, y: usize| f32::from(p[y * c.stride + x]);
    // Source coordinate of output index `o`: (o + 0.5) / r - 0.5, clamped to the plane.
    let coord = |o: usize, r: usize, n: usize| {
        let f = ((o as f32 + 0.5) / r as f32 - 0.5).clamp(0.0, (n - 1) as f32);
        let i = (f as usize).min(n - 1);
        (i, (i + 1).min(n - 1), f - i as f32)
    };
    let mut out = Vec::with_capacity(ow * oh);
    for y in 0..oh {
        let (y0, y1, fy) = coord(y, ry, c.bh);
        for x in 0..ow {
            let (x0, x1, fx) = coord(x, rx, c.bw);
            let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
            let bot = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
            out.push((top + (bot - top) * fy + 0.5) as u8);
        }
    }
    Some(std::borrow::Cow::Owned(out))
}

/// Decodes one DC scan (first pass when `ah == 0`, refinement otherwise) starting at
/// `pos`; returns the position where its entropy-coded data ends.
#[allow(clippy::too_many_arguments)]
fn decode_dc_scan(
    b: &[u8],
    pos: usize,
    (w, h): (usize, usize),
    hmax: usize,
    vmax: usize,
    comps: &[Component],
    sel: &[(usize, usize)],
    tables: &[Option<Huffman>; 4],
    coefs: &mut [Vec<i16>],
    restart: usize,
    ah: u8,
    al: u32,
) -> Option<usize> {
    let mut bits = Bits::new(b, pos);
    let mut pred = [0i32; 4];
    let huff: Vec<Option<&Huffman>> = sel
        .iter()
        .map(|&(_, td)| tables.get(td).and_then(Option::as_ref))
        .collect();
    if ah == 0 && huff.iter().any(Option::is_none) {
        return None;
    }
    // Non-interleaved: one block per MCU over the component's own grid.
    let (mcus_x, mcus_y) = if sel.len() == 1 {
        let c = &comps[sel[0].0];
        (c.bw, c.bh)
    } else {
        (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax))
    };
    let unit = |bits: &mut Bits,
                pred: &mut [i32; 4],
                k: usize,
                at: usize,
                coefs: &mut [Vec<i16>]|
     -> Option<()> {
        let ci = sel[k].0;
        let slot = coefs.get_mut(ci)?.get_mut(at)?;
        if ah == 0 {
            let t = u32::from(bits.decode(huff[k]?)?);
            if t > 11 {
                return None;
            }
            let diff = extend(bits.bits(t), t);
            pred[k] = pred[k].checked_add(diff)?;
            *slot = i16::try_from(pred[k].checked_shl(al)?).ok()?;
        } else if bits.bits(1) == 1 {
            *slot |= 1 << al;
        }
        Some(())
    };
    let total = mcus_x * mcus_y;
    for m in 0..total {
        if restart > 0 && m > 0 && m % restart == 0 {
            bits.restart()?;
            pred = [0; 4];
        }
        let (mx, my) = (m % mcus_x, m / mcus_x);
        if sel.len() == 1 {
            let c = &comps[sel[0].0];
            unit(&mut bits, &mut pred, 0, my * c.stride + mx, coefs)?;
        } else {
            for (k, &(ci, _)) in sel.iter().enumerate() {
                let c = &comps[ci];
                for by in 0..c.v {
                    for bx in 0..c.h {
                        let at = (my * c.v + by) * c.stride + mx * c.h + bx;
                        unit(&mut bits, &mut pred, k, at, coefs)?;
                    }
                }
            }
        }
    }
    // `pos` of the reader is past the last whole byte it consumed; the next marker follows.
    Some(bits.pos.min(b.len()))
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
