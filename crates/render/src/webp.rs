//! Lossy WebP through libwebp's own encoder (C, vendored and compiled by the
//! `libwebp-sys` crate; for wasm32-wasip2 with Debian's clang and wasi-libc, see
//! `scripts/wasm-cc`). No permissively licensed pure-Rust lossy WebP encoder exists
//! (`image-webp` encodes lossless only; zenwebp is AGPL), and libwebp is what sharp,
//! libvips, Pillow and Squoosh use, so the bytes at a quality match theirs.
//!
//! The settings are sharp's defaults (libvips `webpsave`): preset `default`, `quality`,
//! `method` (sharp's `effort`, 4), lossless alpha (`alpha_quality` 100), 4:2:0 without
//! sharp-YUV. The pixels are imported straight into libwebp's YUV(A) planes, and the
//! RGB(A) buffer is dropped before the encode starts, so the peak is the YUV picture
//! (1.5 bytes a pixel, 2.5 with alpha) plus the encoder's row buffers, not both copies.
//! libwebp allocates through the same wasi-libc `malloc` as Rust, so all of it counts
//! in the instance's linear memory (checked by `tests/memory.rs` and the e2e suite).
//!
//! This is the only `unsafe` in the crate: four libwebp calls behind one safe function.

use std::ffi::{c_int, c_void};
use std::mem::MaybeUninit;

use image::DynamicImage;
use libwebp_sys as sys;

use crate::Error;

/// libwebp's largest width or height.
pub(crate) const MAX_SIDE: u32 = 16_383;

/// Encodes 8-bit RGB or RGBA pixels as a lossy WebP (alpha kept, losslessly), consuming
/// the image so its buffer is freed as soon as libwebp has its own copy.
///
/// `quality` is 1..=100 (libwebp's 0..100 scale, as sharp's `quality`); `method` is
/// 0..=6 (0 fastest, 6 smallest; sharp's `effort`, default 4).
pub(crate) fn encode_lossy(img: DynamicImage, quality: u8, method: u8) -> Result<Vec<u8>, Error> {
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(Error::range(
            "w",
            format!("a WebP is 1 to {MAX_SIDE} px a side, not {w}x{h}"),
        ));
    }
    let config = config(quality, method)?;
    let mut picture = Picture::new(w, h)?;
    match &img {
        DynamicImage::ImageRgb8(buf) => picture.import(buf.as_raw(), 3)?,
        DynamicImage::ImageRgba8(buf) => picture.import(buf.as_raw(), 4)?,
        _ => return Err(Error::Internal("webp expects 8-bit RGB or RGBA".into())),
    }
    drop(img);
    picture.encode(&config)
}

/// libwebp's config for `quality` and `method` (sharp's defaults otherwise).
fn config(quality: u8, method: u8) -> Result<sys::WebPConfig, Error> {
    let mut config = MaybeUninit::<sys::WebPConfig>::uninit();
    // SAFETY: `WebPConfigInitInternal` (what the C macro `WebPConfigPreset` calls) writes
    // every field of the struct when it returns non-zero; it returns 0 only for an ABI
    // version mismatch, before touching it. The pointer is valid for one `WebPConfig`
    // (the bindings' `#[repr(C)]` struct of libwebp-sys's own header).
    let ok = unsafe {
        sys::WebPConfigInitInternal(
            config.as_mut_ptr(),
            sys::WebPPreset::WEBP_PRESET_DEFAULT,
            f32::from(quality.clamp(1, 100)),
            sys::WEBP_ENCODER_ABI_VERSION as c_int,
        )
    };
    if ok == 0 {
        return Err(Error::Internal("libwebp: encoder ABI mismatch".into()));
    }
    // SAFETY: initialised by the successful call above.
    let mut config = unsafe { config.assume_init() };
    config.method = c_int::from(method.min(6));
    config.alpha_quality = 100;
    // SAFETY: reads the initialised struct only.
    if unsafe { sys::WebPValidateConfig(&config) } == 0 {
        return Err(Error::Internal("libwebp: invalid encoder config".into()));
    }
    Ok(config)
}

/// A `WebPPicture` that owns libwebp's planes and frees them on drop.
struct Picture(sys::WebPPicture);

impl Picture {
    fn new(w: u32, h: u32) -> Result<Picture, Error> {
        let mut pic = MaybeUninit::<sys::WebPPicture>::uninit();
        // SAFETY: `WebPPictureInitInternal` zeroes the whole struct (no planes allocated
        // yet, so `WebPPictureFree` on it is a no-op) and returns 0 only for an ABI
        // mismatch, before touching it.
        if unsafe {
            sys::WebPPictureInitInternal(pic.as_mut_ptr(), sys::WEBP_ENCODER_ABI_VERSION as c_int)
        } == 0
        {
            return Err(Error::Internal("libwebp: encoder ABI mismatch".into()));
        }
        // SAFETY: initialised by the successful call above.
        let mut pic = Picture(unsafe { pic.assume_init() });
        // YUV(A) planes, as sharp (libvips) imports for lossy: no ARGB copy.
        pic.0.use_argb = 0;
        // Checked by the caller: 1..=16383, so these fit in c_int.
        pic.0.width = w as c_int;
        pic.0.height = h as c_int;
        Ok(pic)
    }

    /// Converts `px` (rows of `width * channels` bytes, no padding) into the picture's
    /// own YUV(A) planes.
    fn import(&mut self, px: &[u8], channels: usize) -> Result<(), Error> {
        let (w, h) = (self.0.width as usize, self.0.height as usize);
        if px.len() != w * h * channels {
            return Err(Error::Internal("webp: pixel buffer size mismatch".into()));
        }
        let stride = (w * channels) as c_int;
        // SAFETY: `px` holds exactly `height` rows of `stride` bytes (checked above) and
        // libwebp reads only those (`Import` walks `height` rows of `width * channels`
        // bytes). It copies them into planes it allocates and owns (`use_argb = 0`:
        // `ImportYUVAFromRGBA`), so no pointer into `px` survives the call.
        let ok = unsafe {
            if channels == 4 {
                sys::WebPPictureImportRGBA(&mut self.0, px.as_ptr(), stride)
            } else {
                sys::WebPPictureImportRGB(&mut self.0, px.as_ptr(), stride)
            }
        };
        if ok == 0 {
            return Err(self.error("import"));
        }
        Ok(())
    }

    /// Runs the encoder, collecting its output in a `Vec`.
    fn encode(mut self, config: &sys::WebPConfig) -> Result<Vec<u8>, Error> {
        let mut out: Vec<u8> = Vec::new();
        self.0.writer = Some(write_to_vec);
        self.0.custom_ptr = (&raw mut out).cast::<c_void>();
        // SAFETY: the config was initialised and validated; the picture was initialised
        // and imported. libwebp calls `writer` only during this call and on this thread
        // (libwebp-sys is built without `WEBP_USE_THREAD`, and `thread_level` is 0), with
        // `custom_ptr` pointing at `out`, which outlives the call and is not otherwise
        // touched until it returns.
        let ok = unsafe { sys::WebPEncode(config, &mut self.0) };
        self.0.custom_ptr = std::ptr::null_mut();
        if ok == 0 {
            return Err(self.error("encoding"));
        }
        Ok(out)
    }

    fn error(&self, step: &str) -> Error {
        match self.0.error_code {
            sys::WebPEncodingError::VP8_ENC_ERROR_OUT_OF_MEMORY
            | sys::WebPEncodingError::VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY => {
                Error::TooLarge(format!(
                    "webp {step}: out of memory for a {}x{} picture",
                    self.0.width, self.0.height
                ))
            }
            code => Error::Internal(format!("webp {step} failed: {code:?}")),
        }
    }
}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture was initialised by `WebPPictureInitInternal`; this frees the
        // planes libwebp allocated (if any) exactly once and resets the pointers.
        unsafe { sys::WebPPictureFree(&mut self.0) }
    }
}

/// libwebp's writer callback: appends a chunk of the encoded file to the `Vec<u8>` that
/// `custom_ptr` points to (set by [`Picture::encode`]).
unsafe extern "C" fn write_to_vec(
    data: *const u8,
    size: usize,
    picture: *const sys::WebPPicture,
) -> c_int {
    if size == 0 {
        return 1;
    }
    // SAFETY: libwebp passes the picture being encoded, whose `custom_ptr` is the live
    // `Vec` of `Picture::encode`, and `data` valid for `size` bytes for this call.
    unsafe {
        let out = &mut *(*picture).custom_ptr.cast::<Vec<u8>>();
        out.extend_from_slice(std::slice::from_raw_parts(data, size));
    }
    1
}
