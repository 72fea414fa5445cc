//! Memory at the limits (issue 5, item 2): 50 MP JPEG and PNG inputs (8660×5773, just
//! under `max_pixels`) through a host with Fermyon's 128 MiB instance memory cap, with
//! each request's peak guest memory read from the host's `darkroom-host-peak-memory`
//! header. A chained step that outgrew the cap would trap and turn the upload into a
//! 502, so a 201 with a thumbnail also proves the steps fit.
//!
//! What is measured (the numbers go to `docs/limits.md`):
//! - 50 MP JPEG: upload, stateless thumbnail (128 and 1024), stateless vectorize, the
//!   original and thumbnail downloads all succeed within 128 MiB (JPEG shrink-on-load).
//! - 50 MP PNG: the same requests succeed within 128 MiB: rows are streamed and
//!   box-averaged into the reduced image each step needs (PNG shrink-on-load).
//! - 50 MP interlaced PNG: not streamed, so refused with 413 by `max_decode_bytes`
//!   (64 MiB): a full RGB decode is 150 MB; nothing is stored. With the budget lifted,
//!   the thumbnail instance traps at the cap (shown here).
//! - A box too large to reduce (a 1024 px thumbnail of a PNG under 4095 px) takes the
//!   full decode: with alpha (which the resize copies) 4000×4000 is refused (413) and
//!   2896×2896 fits; both stream at 128 px.
//!
//! Needs a host of its own (the memory cap); skipped with `BASE_URL`.

use darkroom_e2e::expect::{self, MEMORY_BUDGET};
use darkroom_e2e::kvcheck::KvFile;
use darkroom_e2e::target::{base_url, notice};
use darkroom_e2e::{Client, Host, HostOptions, Reply, fixtures, hostile};
use image::{ImageFormat, Rgb, RgbImage};

/// 8660 × 5773 = 49,994,180 pixels, just under the 50,000,000 default.
const W: u32 = 8660;
const H: u32 = 5773;

struct Measured {
    rows: Vec<String>,
}

impl Measured {
    /// Records `reply`'s peak and checks it against the 128 MiB budget.
    #[track_caller]
    fn record(&mut self, what: &str, reply: &Reply) -> u64 {
        let peak = reply.peak_memory().unwrap_or_else(|| panic!("the host reports peak memory\n{reply}"));
        assert!(peak <= MEMORY_BUDGET, "{what}: peak {peak} B over {MEMORY_BUDGET} B\n{reply}");
        self.rows.push(format!("{what:<58} {:>4} {:>7.1} MiB", reply.status, peak as f64 / (1024.0 * 1024.0)));
        peak
    }
}

/// A smooth 50 MP picture (gradients and soft bands, no grain): a PNG of it stays under
/// `max_upload_bytes`.
fn smooth(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        Rgb([(255.0 * u) as u8, (255.0 * v) as u8, (128.0 + 100.0 * (6.0 * u + 4.0 * v).sin()) as u8])
    })
}

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

#[track_caller]
fn upload_ok(client: &Client, m: &mut Measured, what: &str, bytes: &[u8], (w, h): (u32, u32)) -> String {
    let reply = client.post("/api/images", bytes, "application/octet-stream");
    m.record(what, &reply);
    let object = expect::json(&reply, 201);
    assert_eq!((object["width"].as_u64(), object["height"].as_u64()), (Some(u64::from(w)), Some(u64::from(h))), "{reply}");
    let thumb = &object["thumbnail"];
    assert!(thumb["width"].is_u64() && object["vector"]["dims"].is_u64(), "both steps ran within the cap\n{reply}");
    object["id"].as_str().expect("id").to_string()
}

#[test]
fn fifty_megapixel_inputs_within_128_mib() {
    if base_url().is_some() {
        notice("e2e: SKIPPED fifty_megapixel_inputs_within_128_mib: needs a host with a memory cap; BASE_URL is set");
        return;
    }
    let host = Host::spawn_with(HostOptions {
        max_instance_memory: Some(MEMORY_BUDGET as usize),
        ..HostOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let client = host.client();
    let kv = KvFile::new(host.state_dir());
    let mut m = Measured { rows: Vec::new() };

    // --- 50 MP JPEG: everything succeeds --------------------------------------------
    let jpeg = fixtures::jpeg(&fixtures::photo(W, H, fixtures::seed(0x50_0001)), 95);
    assert!(jpeg.len() <= 25 << 20, "the 50 MP JPEG fits max_upload_bytes: {} B", jpeg.len());
    let id = upload_ok(&client, &mut m, &format!("POST /api/images  50 MP JPEG ({:.1} MB)", jpeg.len() as f64 / 1e6), &jpeg, (W, H));
    let reply = client.get(&format!("/images/{id}"));
    m.record("GET /images/{id}  (50 MP JPEG original)", &reply);
    assert!(reply.status == 200 && reply.body == jpeg, "the original comes back whole");
    let reply = client.get(&format!("/images/{id}/thumbnail"));
    m.record("GET /images/{id}/thumbnail", &reply);
    reply.expect_status(200);
    for size in [128, 1024] {
        let reply = client.post(&format!("/api/thumbnail?size={size}"), &jpeg, "image/jpeg");
        m.record(&format!("POST /api/thumbnail?size={size}  50 MP JPEG"), &reply);
        reply.expect_status(200);
        let thumb = fixtures::decode(&reply.body, ImageFormat::Jpeg);
        expect::fits((thumb.width(), thumb.height()), (W, H), size);
    }
    let reply = client.post("/api/vectorize", &jpeg, "image/jpeg");
    m.record("POST /api/vectorize  50 MP JPEG", &reply);
    expect::json(&reply, 200);
    drop(jpeg);

    // --- 50 MP PNG: streamed row by row into the reduced image each step needs -------
    let png = encode(&smooth(W, H), ImageFormat::Png);
    assert!(png.len() <= 25 << 20, "the 50 MP PNG fits max_upload_bytes: {} B", png.len());
    let id = upload_ok(&client, &mut m, &format!("POST /api/images  50 MP PNG ({:.1} MB)", png.len() as f64 / 1e6), &png, (W, H));
    let reply = client.get(&format!("/images/{id}/thumbnail"));
    m.record("GET /images/{id}/thumbnail  (50 MP PNG)", &reply);
    reply.expect_status(200);
    for size in [128, 1024] {
        let reply = client.post(&format!("/api/thumbnail?size={size}"), &png, "image/png");
        m.record(&format!("POST /api/thumbnail?size={size}  50 MP PNG"), &reply);
        reply.expect_status(200);
        let thumb = fixtures::decode(&reply.body, ImageFormat::Jpeg);
        expect::fits((thumb.width(), thumb.height()), (W, H), size);
    }
    let reply = client.post("/api/vectorize", &png, "image/png");
    m.record("POST /api/vectorize  50 MP PNG", &reply);
    expect::json(&reply, 200);
    drop(png);

    // --- Interlaced: no streaming, so the decode budget refuses it cleanly -----------
    let png = hostile::png_bomb_interlaced(W, H, 2, 8);
    let png_id = fixtures::sha256_hex(&png);
    let reply = client.post("/api/images", &png, "image/png");
    m.record("POST /api/images  50 MP PNG, interlaced", &reply);
    let problem = expect::problem(&reply, 413);
    assert!(
        problem["detail"].as_str().unwrap_or_default().contains("memory"),
        "refused for its decode memory (max_decode_bytes), not its size\n{reply}"
    );
    assert!(kv.keys_of(&png_id).is_empty(), "a refused PNG leaves nothing: {:?}", kv.keys_of(&png_id));
    let reply = client.post("/api/thumbnail", &png, "image/png");
    m.record("POST /api/thumbnail  50 MP PNG, interlaced", &reply);
    expect::problem(&reply, 413);

    // Why: with the decode budget lifted, the full decode (8660×5773×3 = 150 MB) outgrows
    // the 128 MiB instance and the step traps (an empty 500 from the host).
    let lifted = Host::spawn_with(HostOptions {
        variables: &[("max_decode_bytes", "268435456")],
        max_instance_memory: Some(MEMORY_BUDGET as usize),
        ..HostOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let reply = lifted.client().post("/api/thumbnail", &png, "image/png");
    assert_eq!(reply.status, 500, "a 150 MB decode cannot fit 128 MiB: the instance traps\n{reply}");
    m.record("POST /api/thumbnail  50 MP PNG, interlaced, max_decode_bytes=256 MiB", &reply);
    drop(lifted);
    drop(png);

    // --- Boxes too large to reduce (f = 1) take the full decode and its budget -------
    // A 1024 px thumbnail needs >= 2048 px on each side, so no reduction under 4095 px.
    // RGBA counts twice (the resize's premultiplied copy): 4000×4000 (122 MiB): 413;
    // 2896×2896 (64 MiB with the copy): within 128 MiB. At 128 px both stream.
    for (side, status) in [(4000u32, 413u16), (2896, 200)] {
        let rgba = image::RgbaImage::from_fn(side, side, |x, y| {
            image::Rgba([(x / 16) as u8, (y / 16) as u8, ((x + y) / 32) as u8, (x / 16) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        rgba.write_to(&mut out, ImageFormat::Png).expect("encode");
        drop(rgba);
        let png = out.into_inner();
        let reply = client.post("/api/thumbnail?size=1024", &png, "image/png");
        m.record(&format!("POST /api/thumbnail?size=1024  {side}x{side} RGBA PNG"), &reply);
        assert_eq!(reply.status, status, "{reply}");
        let reply = client.post("/api/thumbnail", &png, "image/png");
        m.record(&format!("POST /api/thumbnail  {side}x{side} RGBA PNG"), &reply);
        reply.expect_status(200);
        let reply = client.post("/api/images", &png, "image/png");
        m.record(&format!("POST /api/images  {side}x{side} RGBA PNG"), &reply);
        expect::json(&reply, 201);
    }

    expect::still_serving(&client);
    kv.assert_consistent("50 MP uploads");
    notice(&format!("e2e: peak guest memory, 128 MiB instance cap:\n  {}", m.rows.join("\n  ")));
}
