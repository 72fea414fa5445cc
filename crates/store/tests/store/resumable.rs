//! Resumable uploads: any split of the file into PATCH bodies, cut anywhere, resumes
//! from the derived offset to the same bytes, and the parts are the blob's chunks.

use std::io::{Cursor, Read};
use store::resumable::{image_parts, upload_prefix};
use store::{BlobKind, MemoryKv, Store, Upload, content_id};

const UID: &str = "0123456789abcdef0123456789abcdef";

fn file(len: usize) -> Vec<u8> {
    crate::util::bytes(len, 7)
}

fn setup(len: u64, chunk: u32) -> (Store<MemoryKv>, Upload) {
    let store = Store::new(MemoryKv::new().with_max_value_bytes(chunk as usize), chunk).unwrap();
    let upload = Upload {
        length: len,
        chunk_size: chunk,
        parts: image_parts(UID).unwrap(),
        kind: "image".into(),
        filename: None,
        content_type: None,
        created_micros: 1,
        expires_micros: 100,
    };
    store.create_upload(UID, &upload).unwrap();
    (store, upload)
}

/// A body that yields `good` bytes and then fails, as a dropped connection does.
struct Cut<'a> {
    bytes: &'a [u8],
    good: usize,
    at: usize,
}

impl Read for Cut<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.good {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut"));
        }
        let take = (self.good - self.at).min(out.len()).min(777);
        out[..take].copy_from_slice(&self.bytes[self.at..self.at + take]);
        self.at += take;
        Ok(take)
    }
}

fn assembled(store: &Store<MemoryKv>, upload: &Upload) -> Vec<u8> {
    let mut out = Vec::new();
    store.upload_reader(upload).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn parts_of_any_size_cut_anywhere_resume_to_the_same_bytes() {
    let data = file(10_500);
    for (part, cut_at) in [(4_096usize, 1_500usize), (1_000, 999), (3_333, 3_000), (10_500, 7_001), (700, 10)] {
        let (store, upload) = setup(data.len() as u64, 1_000);
        let mut cuts_left = 2;
        loop {
            let progress = store.upload_progress(UID, &upload).unwrap();
            if progress.is_complete(&upload) {
                break;
            }
            let from = progress.offset as usize;
            let end = (from + part).min(data.len());
            let appended = if cuts_left > 0 && end - from > cut_at {
                cuts_left -= 1;
                let mut body = Cut { bytes: &data[from..end], good: cut_at, at: 0 };
                let a = store.append_upload(UID, &upload, &progress, &mut body, 1 << 20).unwrap();
                assert!(a.cut);
                a
            } else {
                let a = store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[from..end]), 1 << 20).unwrap();
                assert_eq!(a.offset as usize, end, "a whole body is stored whole");
                a
            };
            // What the PATCH answered is what a HEAD derives afterwards.
            assert_eq!(store.upload_progress(UID, &upload).unwrap().offset, appended.offset);
        }
        assert_eq!(assembled(&store, &upload), data, "part {part}, cut at {cut_at}");
        // Only the chunks and the record are left: every piece went into its chunk.
        let leftovers: Vec<String> = store.kv().keys().into_iter().filter(|k| k.contains("/d/") || k.contains("/s/")).collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn an_instance_killed_mid_patch_leaves_a_resumable_offset() {
    // The PATCH dies after some chunk writes and before its piece: the offset is the
    // chunks' end, and resuming from it completes the same file.
    let data = file(5_500);
    let (store, upload) = setup(5_500, 1_000);
    let progress = store.upload_progress(UID, &upload).unwrap();
    store.kv().fail_writes_after(store.kv().writes() + 2);
    let err = store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[..]), 1 << 20);
    assert!(err.is_err());
    store.kv().clear_faults();
    let progress = store.upload_progress(UID, &upload).unwrap();
    assert_eq!(progress.offset, 2_000);
    let rest = &data[progress.offset as usize..];
    store.append_upload(UID, &upload, &progress, &mut Cursor::new(rest), 1 << 20).unwrap();
    assert_eq!(assembled(&store, &upload), data);
}

#[test]
fn bytes_past_the_length_or_the_part_cap_are_not_stored() {
    let data = file(2_500);
    let (store, upload) = setup(2_400, 1_000);
    let progress = store.upload_progress(UID, &upload).unwrap();
    let a = store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[..]), 1 << 20).unwrap();
    assert!(a.overflow);
    assert_eq!(a.offset, 2_000, "the last chunk, which would run past the length, is not written");
    assert_eq!(store.upload_progress(UID, &upload).unwrap().offset, 2_000);

    let (store, upload) = setup(2_400, 1_000);
    let progress = store.upload_progress(UID, &upload).unwrap();
    let a = store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[..1_800]), 1_500).unwrap();
    assert!(a.overflow);
    assert_eq!(a.offset, 1_500, "what was read up to the cap is kept");
    let progress = store.upload_progress(UID, &upload).unwrap();
    assert_eq!(progress.offset, 1_500);
    store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[1_500..2_400]), 1_500).unwrap();
    assert_eq!(assembled(&store, &upload), data[..2_400]);
}

#[test]
fn an_adopted_upload_is_the_blob_and_goes_with_the_image() {
    let data = file(3_200);
    let (store, upload) = setup(3_200, 1_000);
    let progress = store.upload_progress(UID, &upload).unwrap();
    store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[..]), 1 << 20).unwrap();
    let id = content_id(&data);
    let (sha256, digest) = store.hash_upload(&upload).unwrap();
    assert_eq!((&sha256, &digest), (&id, &store::fast_digest(&data)));
    let writes = store.kv().writes();
    store
        .adopt_blob(&id, BlobKind::Original, &upload.parts, (3_200, 1_000), (&id, &digest), "image/png")
        .unwrap();
    assert_eq!(store.kv().writes(), writes + 1, "adopting writes the manifest only");
    assert_eq!(store.get_blob(&id, BlobKind::Original).unwrap().unwrap().1, data);
    let manifest = store.blob_manifest(&id, BlobKind::Original).unwrap().unwrap();
    assert_eq!(store.blob_range(&id, BlobKind::Original, &manifest, 990..2_010).unwrap(), data[990..2_010]);

    // Finishing the upload drops its bookkeeping but not the blob's chunks.
    store.finish_upload(UID, b"{}").unwrap();
    store.delete_upload(UID, &upload, false).unwrap();
    assert!(store.upload(UID).unwrap().is_none());
    assert_eq!(store.get_blob(&id, BlobKind::Original).unwrap().unwrap().1, data);
    assert!(store.delete_image(&id).unwrap());
    assert!(store.kv().is_empty(), "{:?}", store.kv().keys());
}

#[test]
fn termination_and_expiry_remove_every_key() {
    let data = file(2_500);
    let (store, upload) = setup(2_500, 1_000);
    let progress = store.upload_progress(UID, &upload).unwrap();
    store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[..1_700]), 1 << 20).unwrap();
    assert_eq!(store.sweep_uploads(50).unwrap(), 0, "not expired yet");
    assert!(store.kv().keys().iter().any(|k| k.starts_with(&upload_prefix(UID).unwrap())));
    assert_eq!(store.sweep_uploads(101).unwrap(), 1);
    assert!(store.kv().is_empty(), "{:?}", store.kv().keys());

    let (store, upload) = setup(2_500, 1_000);
    let progress = store.upload_progress(UID, &upload).unwrap();
    store.append_upload(UID, &upload, &progress, &mut Cursor::new(&data[..1_200]), 1 << 20).unwrap();
    store.delete_upload(UID, &upload, true).unwrap();
    assert!(store.kv().is_empty(), "{:?}", store.kv().keys());
}

#[test]
fn a_client_resuming_while_its_cut_patch_still_stores_gets_the_same_file() {
    // The cut PATCH (A) and the resumed one (B) both start at offset 1_200, from the
    // same HEAD; they store pieces of different lengths at the same start, in either
    // order. The derived offset is the last one's end, its bytes are found under that
    // end (`d/{start}/{end}`), and resuming from it completes the file.
    let data = file(3_000);
    for a_first in [true, false] {
        let (store, upload) = setup(3_000, 1_000);
        let p0 = store.upload_progress(UID, &upload).unwrap();
        store.append_upload(UID, &upload, &p0, &mut Cursor::new(&data[..1_200]), 1 << 20).unwrap();
        let early = store.upload_progress(UID, &upload).unwrap();
        let mut cut = Cut { bytes: &data[1_200..], good: 300, at: 0 };
        let mut resumed = Cursor::new(&data[1_200..1_700]);
        if a_first {
            store.append_upload(UID, &upload, &early, &mut cut, 1 << 20).unwrap();
            store.append_upload(UID, &upload, &early, &mut resumed, 1 << 20).unwrap();
        } else {
            store.append_upload(UID, &upload, &early, &mut resumed, 1 << 20).unwrap();
            store.append_upload(UID, &upload, &early, &mut cut, 1 << 20).unwrap();
        }
        let now = store.upload_progress(UID, &upload).unwrap();
        assert_eq!(now.offset, if a_first { 1_700 } else { 1_500 });
        let rest = &data[now.offset as usize..];
        store.append_upload(UID, &upload, &now, &mut Cursor::new(rest), 1 << 20).unwrap();
        assert_eq!(assembled(&store, &upload), data, "a_first: {a_first}");
    }
}
