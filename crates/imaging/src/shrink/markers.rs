//! JPEG syntax shared by our scaled decoders: the marker-segment walk, the tables and
//! parameters the segments set (DQT, DHT, DRI, JFIF/Adobe colour hints), the frame header
//! and the scan header.
//!
//! Everything is tolerant of garbage between segments (like libjpeg) but returns `None`
//! on any malformed segment: the caller then falls back to `jpeg-decoder`, which reports
//! the error properly.

use super::entropy::Huffman;

/// One marker segment: the marker byte, its payload (empty for EOI) and the position
/// just after it (where a scan's entropy-coded data starts).
pub(super) struct Segment<'a> {
    pub marker: u8,
    pub body: &'a [u8],
    pub end: usize,
}

/// Position of the next marker (0xFF followed by neither 0x00 nor 0xFF) at or after
/// `pos`; RSTn markers are stepped over when `skip_rst` (they belong to scan data).
pub(super) fn next_marker(data: &[u8], mut pos: usize, skip_rst: bool) -> Option<usize> {
    loop {
        pos += data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match *data.get(pos + 1)? {
            0x00 | 0xFF => pos += 1,
            0xD0..=0xD7 if skip_rst => pos += 2,
            _ => return Some(pos),
        }
    }
}

/// The next segment at or after `pos`, stepping over entropy-coded data, fill bytes and
/// standalone markers (SOI, RSTn, TEM). EOI comes back as a segment with an empty body.
pub(super) fn next_segment(b: &[u8], mut pos: usize) -> Option<Segment<'_>> {
    loop {
        let mut i = next_marker(b, pos, true)? + 1;
        while *b.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i)?;
        i += 1;
        if marker == 0xD9 {
            return Some(Segment {
                marker,
                body: &[],
                end: i,
            });
        }
        if matches!(marker, 0x01 | 0xD0..=0xD8) {
            pos = i;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        let body = b.get(i + 2..(i + len).max(i + 2))?;
        return (len >= 2).then_some(Segment {
            marker,
            body,
            end: i + len,
        });
    }
}

/// SOF0/SOF1 (baseline, extended Huffman) and SOF2 (progressive Huffman): the frames we
/// decode ourselves. Every other SOFn is left to `jpeg-decoder`.
pub(super) fn is_huffman_8bit_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC2)
}

/// Any start-of-frame marker (SOF0..SOF15 except DHT, JPG and DAC).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// What the first frame header says, read before choosing a decoder.
pub(super) struct FrameKind {
    pub marker: u8,
    pub precision: u8,
    pub components: u8,
    pub width: u32,
    pub height: u32,
}

/// The first frame header's marker, sample precision, component count and size.
pub(super) fn frame_kind(b: &[u8]) -> Option<FrameKind> {
    let seg = first_frame(b)?;
    let be16 = |i: usize| {
        Some(u32::from(u16::from_be_bytes([
            *seg.body.get(i)?,
            *seg.body.get(i + 1)?,
        ])))
    };
    Some(FrameKind {
        marker: seg.marker,
        precision: *seg.body.first()?,
        components: *seg.body.get(5)?,
        width: be16(3)?,
        height: be16(1)?,
    })
}

/// The first frame header, when it is one we decode ourselves (8-bit Huffman, 1 or 3
/// components, integer sampling ratios).
pub(super) fn frame(b: &[u8]) -> Option<Frame> {
    let seg = first_frame(b)?;
    is_huffman_8bit_sof(seg.marker).then(|| Frame::parse(seg.marker, seg.body))?
}

/// The first start-of-frame segment, if one comes before any scan.
fn first_frame(b: &[u8]) -> Option<Segment<'_>> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    loop {
        let seg = next_segment(b, pos)?;
        if is_sof(seg.marker) {
            return Some(seg);
        }
        if matches!(seg.marker, 0xDA | 0xD9) {
            return None; // scan or end before any frame header
        }
        pos = seg.end;
    }
}

/// The EXIF payload (after `Exif\0\0`) of the last APP1 segment carrying one before the
/// first scan: the one `image`'s JPEG decoder (zune-jpeg) reports.
pub(super) fn exif(b: &[u8]) -> Option<&[u8]> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let (mut pos, mut found) = (2, None);
    while let Some(seg) = next_segment(b, pos) {
        match seg.marker {
            0xDA | 0xD9 => break,
            0xE1 if seg.body.len() > 6 && seg.body.starts_with(b"Exif\0\0") => {
                found = Some(&seg.body[6..])
            }
            _ => {}
        }
        pos = seg.end;
    }
    found
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Component {
    pub id: u8,
    /// Sampling factors (1 and 1 for a lone component: they do not matter then).
    pub h: usize,
    pub v: usize,
    /// Quantisation table index.
    pub tq: usize,
    /// Blocks per line and lines of blocks that the image covers (a non-interleaved
    /// scan codes exactly these).
    pub bw: usize,
    pub bh: usize,
}

/// The frame header (SOF0..SOF2), with the MCU geometry worked out.
#[derive(Clone, Debug)]
pub(super) struct Frame {
    pub progressive: bool,
    pub width: usize,
    pub height: usize,
    pub comps: Vec<Component>,
    pub hmax: usize,
    pub vmax: usize,
    /// MCUs per line and MCU lines of an interleaved scan.
    pub mcux: usize,
    pub mcuy: usize,
}

impl Frame {
    fn parse(marker: u8, seg: &[u8]) -> Option<Frame> {
        if *seg.first()? != 8 {
            return None; // 12-bit
        }
        let height = usize::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
        let width = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
        let n = usize::from(*seg.get(5)?);
        // Height 0 means "given by a DNL marker later", which we do not take.
        if width == 0 || height == 0 || !matches!(n, 1 | 3) {
            return None;
        }
        let mut comps = Vec::with_capacity(n);
        for c in 0..n {
            let s = seg.get(6 + 3 * c..9 + 3 * c)?;
            let (h, v) = (usize::from(s[1] >> 4), usize::from(s[1] & 15));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || s[2] > 3 {
                return None;
            }
            let tq = usize::from(s[2]);
            comps.push(Component {
                id: s[0],
                h,
                v,
                tq,
                bw: 0,
                bh: 0,
            });
        }
        if n == 1 {
            comps[0].h = 1;
            comps[0].v = 1;
        }
        let hmax = comps.iter().map(|c| c.h).max()?;
        let vmax = comps.iter().map(|c| c.v).max()?;
        if comps.iter().any(|c| hmax % c.h != 0 || vmax % c.v != 0) {
            return None; // non-integer sampling ratios
        }
        for c in &mut comps {
            c.bw = (width * c.h).div_ceil(hmax).div_ceil(8);
            c.bh = (height * c.v).div_ceil(vmax).div_ceil(8);
        }
        Some(Frame {
            progressive: marker == 0xC2,
            width,
            height,
            hmax,
            vmax,
            mcux: width.div_ceil(8 * hmax),
            mcuy: height.div_ceil(8 * vmax),
            comps,
        })
    }

    /// Blocks per line of component `c`'s plane padded to whole MCUs.
    pub fn stride(&self, c: usize) -> usize {
        self.mcux * self.comps[c].h
    }

    /// Blocks in component `c`'s plane padded to whole MCUs (what a decoder that keeps
    /// coefficients for every block holds); `None` on overflow.
    pub fn blocks(&self, c: usize) -> Option<usize> {
        self.stride(c)
            .checked_mul(self.mcuy.checked_mul(self.comps[c].v)?)
    }
}

/// How the samples map to output colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Color {
    Grey,
    YCbCr,
    Rgb,
}

/// The tables and parameters set by the segments read so far.
#[derive(Default)]
pub(super) struct Tables {
    /// Quantisation tables in zigzag order, as stored.
    pub quant: [Option<[u16; 64]>; 4],
    pub dc: [Option<Box<Huffman>>; 4],
    pub ac: [Option<Box<Huffman>>; 4],
    /// MCUs per restart interval; 0 when there are no restart markers.
    pub restart: usize,
    jfif: bool,
    adobe_transform: Option<u8>,
    pub frame: Option<Frame>,
}

impl Tables {
    /// Takes in a segment before or between scans. `None`: malformed, or a frame we do
    /// not decode (not 8-bit Huffman with 1 or 3 components, or a second frame header).
    pub fn read(&mut self, seg: &Segment) -> Option<()> {
        let body = seg.body;
        match seg.marker {
            0xDB => {
                let mut s = body;
                while let Some(&pq_tq) = s.first() {
                    let (pq, tq) = (pq_tq >> 4, usize::from(pq_tq & 15));
                    let mut q = [0u16; 64];
                    if pq == 0 {
                        let v = s.get(1..65)?;
                        q.iter_mut().zip(v).for_each(|(q, &v)| *q = u16::from(v));
                        s = &s[65..];
                    } else {
                        let v = s.get(1..129)?;
                        q.iter_mut()
                            .zip(v.chunks_exact(2))
                            .for_each(|(q, v)| *q = u16::from_be_bytes([v[0], v[1]]));
                        s = &s[129..];
                    }
                    *self.quant.get_mut(tq)? = Some(q);
                }
            }
            0xC4 => {
                let mut s = body;
                while let Some(&tc_th) = s.first() {
                    let (class, id) = (tc_th >> 4, usize::from(tc_th & 15));
                    let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let table = Huffman::new(&counts, s.get(17..17 + n)?, class == 1)?;
                    match class {
                        0 => *self.dc.get_mut(id)? = Some(table),
                        1 => *self.ac.get_mut(id)? = Some(table),
                        _ => return None,
                    }
                    s = &s[17 + n..];
                }
            }
            0xDD => self.restart = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?])),
            0xE0 if body.starts_with(b"JFIF\0") => self.jfif = true,
            0xEE if body.starts_with(b"Adobe") => self.adobe_transform = body.get(11).copied(),
            m if is_sof(m) => {
                if self.frame.is_some() || !is_huffman_8bit_sof(m) {
                    return None;
                }
                self.frame = Some(Frame::parse(m, body)?);
            }
            _ => {}
        }
        Some(())
    }

    /// The colour model, decided as `jpeg-decoder` does (component ids first, then JFIF,
    /// then Adobe's transform flag). `None` for models we do not convert (big-gamut YCC).
    pub fn color(&self) -> Option<Color> {
        let frame = self.frame.as_ref()?;
        if frame.comps.len() == 1 {
            return Some(Color::Grey);
        }
        match [frame.comps[0].id, frame.comps[1].id, frame.comps[2].id] {
            [1, 2, 3] => return Some(Color::YCbCr),
            [b'R', b'G', b'B'] => return Some(Color::Rgb),
            [1, 34, 35] | [b'r', b'g', b'b'] => return None,
            _ => {}
        }
        if self.jfif {
            return Some(Color::YCbCr);
        }
        match self.adobe_transform {
            Some(0) => Some(Color::Rgb),
            None | Some(1) => Some(Color::YCbCr),
            Some(_) => None,
        }
    }

    /// Parses a scan header: for each scan component its frame index and its DC and AC
    /// table selectors; then Ss, Se, Ah and Al.
    pub fn scan(&self, body: &[u8]) -> Option<Scan> {
        let frame = self.frame.as_ref()?;
        let ns = usize::from(*body.first()?);
        if ns == 0 || ns > frame.comps.len() {
            return None;
        }
        let mut comps = Vec::with_capacity(ns);
        for k in 0..ns {
            let s = body.get(1 + 2 * k..3 + 2 * k)?;
            let ci = frame.comps.iter().position(|c| c.id == s[0])?;
            comps.push((ci, usize::from(s[1] >> 4), usize::from(s[1] & 15)));
        }
        let tail = body.get(1 + 2 * ns..4 + 2 * ns)?;
        Some(Scan {
            comps,
            ss: tail[0],
            se: tail[1],
            ah: tail[2] >> 4,
            al: u32::from(tail[2] & 15),
        })
    }
}

/// A scan header.
pub(super) struct Scan {
    /// (frame component index, DC table, AC table) in scan order.
    pub comps: Vec<(usize, usize, usize)>,
    pub ss: u8,
    pub se: u8,
    pub ah: u8,
    pub al: u32,
}
