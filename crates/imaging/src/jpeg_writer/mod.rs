//! A baseline JPEG writer: 8-bit greyscale, or YCbCr at 4:4:4 or 4:2:0, Annex K's
//! tables scaled by quality, no metadata.
//!
//! Why our own: `jpeg-encoder` (which stays for progressive output) has SIMD only for
//! x86 AVX2, so in wasm its encode of a 2 MP variant took longer than the decode and the
//! preset together, about 3x libjpeg-turbo's native time. This writer keeps each step
//! in a form that becomes wasm SIMD (a floating-point AAN DCT on whole rows, quantisation
//! by multipliers), walks zero runs by bit mask and writes four bytes at a time; 4:2:0
//! chroma is the mean of each 2x2 (libjpeg's `h2v2_downsample`) rather than the top-left
//! sample. Output is checked by decoding it (tests/jpeg_writer.rs).

mod convert;
mod entropy;
mod fdct;
mod tables;

use entropy::{BitWriter, Codes, Order, write_block};
use fdct::Block;

use crate::Error;

/// What the pixels are and how chroma is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One byte per pixel, one component.
    Grey,
    /// R, G, B bytes; Y, Cb, Cr at full resolution.
    Rgb444,
    /// R, G, B bytes; Cb and Cr at half resolution both ways.
    Rgb420,
}

impl Layout {
    fn channels(self) -> usize {
        if self == Layout::Grey { 1 } else { 3 }
    }
    /// Pixels per MCU side.
    fn mcu(self) -> usize {
        if self == Layout::Rgb420 { 16 } else { 8 }
    }
}

/// Encodes `pixels` (`width` x `height`, rows top to bottom, no padding) as a baseline
/// JPEG at `quality` (1..=100).
pub(crate) fn encode(
    pixels: &[u8],
    width: u16,
    height: u16,
    layout: Layout,
    quality: u8,
) -> Result<Vec<u8>, Error> {
    let (w, h) = (usize::from(width), usize::from(height));
    if w == 0 || h == 0 {
        return Err(Error::InvalidParameter(format!(
            "cannot encode an empty {w}x{h} image"
        )));
    }
    if pixels.len() != w * h * layout.channels() {
        return Err(Error::InvalidParameter(format!(
            "{} bytes are not a {w}x{h} image of {} channel(s)",
            pixels.len(),
            layout.channels()
        )));
    }
    let q = [
        tables::quantisation(0, quality),
        tables::quantisation(1, quality),
    ];
    let mut out = Vec::with_capacity(w * h / 4 + 1024);
    headers(&mut out, width, height, layout, &q);
    let coder = Coder {
        multipliers: [fdct::multipliers(&q[0]), fdct::multipliers(&q[1])],
        order: Order::new(fdct::transposed_index),
        dc: [
            tables::codes(&tables::DC_LUMA),
            tables::codes(&tables::DC_CHROMA),
        ],
        ac: [
            tables::codes(&tables::AC_LUMA),
            tables::codes(&tables::AC_CHROMA),
        ],
    };
    let mut bits = BitWriter::new(out);
    scan(pixels, w, h, layout, &coder, &mut bits);
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]); // EOI
    Ok(out)
}

/// Everything a block needs, by table (0 luminance, 1 chrominance).
struct Coder {
    multipliers: [Block; 2],
    order: Order,
    dc: [Codes; 2],
    ac: [Codes; 2],
}

impl Coder {
    #[inline]
    fn block(
        &self,
        bits: &mut BitWriter,
        plane: &[f32],
        stride: usize,
        x: usize,
        table: usize,
        prev_dc: &mut i32,
    ) {
        let samples: Block = std::array::from_fn(|r| {
            let at = r * stride + x;
            plane[at..at + 8].try_into().expect("8 samples")
        });
        let coefficients = fdct::fdct_quantised(&samples, &self.multipliers[table]);
        write_block(
            bits,
            &coefficients,
            &self.order,
            prev_dc,
            &self.dc[table],
            &self.ac[table],
        );
    }
}

/// The image in strips of one MCU row: each converted to level-shifted planes (edges
/// repeated out to whole MCUs), then coded MCU by MCU.
fn scan(pixels: &[u8], w: usize, h: usize, layout: Layout, coder: &Coder, bits: &mut BitWriter) {
    let ch = layout.channels();
    let mcu = layout.mcu();
    let padded = w.div_ceil(mcu) * mcu;
    let sub = if layout == Layout::Rgb420 { 2 } else { 1 };
    let (cw, crows) = (padded / sub, mcu / sub);
    let mut y_plane = vec![0f32; padded * mcu];
    let (mut cb_plane, mut cr_plane) = if layout == Layout::Grey {
        (Vec::new(), Vec::new())
    } else {
        (vec![0f32; cw * crows], vec![0f32; cw * crows])
    };
    let mut prev_dc = [0i32; 3];
    let row_of = |y: usize| {
        let y = y.min(h - 1);
        &pixels[y * w * ch..(y + 1) * w * ch]
    };
    for top in (0..h).step_by(mcu) {
        // Luma (or grey), then chroma, each row repeated out to the padded width.
        for r in 0..mcu {
            let src = row_of(top + r);
            let dst = &mut y_plane[r * padded..(r + 1) * padded];
            if layout == Layout::Grey {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = f32::from(s) - 128.0;
                }
            } else {
                convert::luma_row(src, &mut dst[..w]);
            }
            let last = dst[w - 1];
            dst[w..].fill(last);
        }
        let filled = match layout {
            Layout::Grey => 0,
            Layout::Rgb444 => {
                for r in 0..mcu {
                    let at = r * cw;
                    convert::chroma_row(
                        row_of(top + r),
                        &mut cb_plane[at..at + w],
                        &mut cr_plane[at..at + w],
                    );
                }
                w
            }
            Layout::Rgb420 => {
                for r in 0..crows {
                    let (a, b) = (row_of(top + 2 * r), row_of(top + 2 * r + 1));
                    let at = r * cw;
                    convert::chroma_row_420(
                        a,
                        b,
                        &mut cb_plane[at..at + cw],
                        &mut cr_plane[at..at + cw],
                    );
                }
                w.div_ceil(2)
            }
        };
        if filled > 0 {
            for plane in [&mut cb_plane, &mut cr_plane] {
                for row in plane.chunks_exact_mut(cw) {
                    let last = row[filled - 1];
                    row[filled..].fill(last);
                }
            }
        }
        // MCUs.
        for m in 0..padded / mcu {
            match layout {
                Layout::Grey => coder.block(bits, &y_plane, padded, m * 8, 0, &mut prev_dc[0]),
                Layout::Rgb444 => {
                    coder.block(bits, &y_plane, padded, m * 8, 0, &mut prev_dc[0]);
                    coder.block(bits, &cb_plane, cw, m * 8, 1, &mut prev_dc[1]);
                    coder.block(bits, &cr_plane, cw, m * 8, 1, &mut prev_dc[2]);
                }
                Layout::Rgb420 => {
                    let x = m * 16;
                    coder.block(bits, &y_plane, padded, x, 0, &mut prev_dc[0]);
                    coder.block(bits, &y_plane, padded, x + 8, 0, &mut prev_dc[0]);
                    coder.block(bits, &y_plane[8 * padded..], padded, x, 0, &mut prev_dc[0]);
                    coder.block(
                        bits,
                        &y_plane[8 * padded..],
                        padded,
                        x + 8,
                        0,
                        &mut prev_dc[0],
                    );
                    coder.block(bits, &cb_plane, cw, m * 8, 1, &mut prev_dc[1]);
                    coder.block(bits, &cr_plane, cw, m * 8, 1, &mut prev_dc[2]);
                }
            }
        }
    }
}

/// SOI, JFIF APP0, DQT, SOF0, DHT and SOS.
fn headers(out: &mut Vec<u8>, width: u16, height: u16, layout: Layout, q: &[[u8; 64]; 2]) {
    let segment = |out: &mut Vec<u8>, marker: u8, body: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(body);
    };
    out.extend_from_slice(&[0xFF, 0xD8]);
    segment(out, 0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let grey = layout == Layout::Grey;
    let tables = if grey { 1 } else { 2 };
    let mut dqt = Vec::new();
    for (id, table) in q.iter().enumerate().take(tables) {
        dqt.push(id as u8);
        dqt.extend(tables::ZIGZAG.iter().map(|&n| table[usize::from(n)]));
    }
    segment(out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    let luma_sampling = if layout == Layout::Rgb420 { 0x22 } else { 0x11 };
    if grey {
        sof.extend_from_slice(&[1, 1, 0x11, 0]);
    } else {
        sof.extend_from_slice(&[3, 1, luma_sampling, 0, 2, 0x11, 1, 3, 0x11, 1]);
    }
    segment(out, 0xC0, &sof);
    let mut dht = Vec::new();
    let specs = [
        (0x00, &tables::DC_LUMA),
        (0x10, &tables::AC_LUMA),
        (0x01, &tables::DC_CHROMA),
        (0x11, &tables::AC_CHROMA),
    ];
    for (class_id, spec) in specs.iter().take(if grey { 2 } else { 4 }) {
        dht.push(*class_id);
        dht.extend_from_slice(&spec.counts);
        dht.extend_from_slice(spec.symbols);
    }
    segment(out, 0xC4, &dht);
    if grey {
        segment(out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    } else {
        segment(out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    }
}
