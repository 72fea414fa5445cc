//! darkroom's blob store: chunked, content-addressed blobs and an image listing over a
//! small key-value trait, with no Spin dependency so it is tested natively.
//!
//! Spin KV has no transactions and Fermyon caps values at 1 MB and keys at 255 bytes, so:
//! blobs are split into chunks and committed by a manifest written last; ids are the
//! SHA-256 of the original bytes (re-uploads are idempotent); every writer owns the keys
//! it writes, and the listing is one key per image rather than a shared list.
//!
//! | module | what it holds |
//! |---|---|
//! | [`kv`] | the [`KeyValue`] trait (implemented over Spin KV by the components) |
//! | [`memory`] | [`MemoryKv`], an in-memory backend with value caps and fault injection |
//! | [`id`] | [`content_id`], [`is_valid_id`] |
//! | [`keys`] | the key layout of `docs/contracts.md` |
//! | [`blob`] | [`BlobKind`], [`BlobManifest`], `put_blob` / `get_blob` |
//! | [`derived`] | [`Derived`] blobs of an image: variants and cached renders |
//! | [`record`] | [`ImageRecord`] and its thumbnail / vector parts |
//! | [`listing`] | `ensure_listed`, `list` and its [`Page`] |
//! | [`resumable`] | resumable uploads: [`Upload`], its [`Progress`], parts that become a blob's chunks |
//! | [`store`] | [`Store`]: construction, `delete_image`, `has_image` (the record commits an image), `has_original`, `orphan_chunks` |
//! | [`segments`] | packed vector segments: [`Snapshot`](segments::Snapshot), `scan_vectors`, `compact_vectors` |
//! | [`error`] | [`Error`] |
//!
//! ```
//! use store::{BlobKind, ImageRecord, MemoryKv, Store, content_id};
//!
//! let store = Store::new(MemoryKv::new().with_max_value_bytes(1_000_000), 1_000_000)?;
//! let bytes = vec![7u8; 2_500_000];
//! let id = content_id(&bytes);
//! store.put_blob(&id, BlobKind::Original, &bytes, "image/jpeg")?;
//! let (manifest, back) = store.get_blob(&id, BlobKind::Original)?.unwrap();
//! assert_eq!((manifest.chunks, back), (3, bytes));
//!
//! let record = ImageRecord {
//!     id: id.clone(), format: "jpeg".into(), width: 2, height: 1, bytes: 2_500_000, alpha: false,
//!     created_micros: 1_700_000_000_000_000, thumbnail: None, vector: None, variants: vec![],
//! };
//! store.ensure_listed(&record)?;
//! store.put_record(&record)?;
//! assert_eq!(store.list(50, None)?.records, vec![record]);
//!
//! assert!(store.delete_image(&id)?);
//! assert_eq!(store.kv().keys(), ["vcat/mark"]); // the vector catalog's marker, touched by the record
//! assert!(!store.has_image(&id)?);
//! # Ok::<(), store::Error>(())
//! ```

pub mod blob;
pub mod derived;
pub mod error;
pub mod id;
pub mod keys;
pub mod kv;
pub mod listing;
pub mod memory;
pub mod record;
pub mod resumable;
pub mod segments;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use blob::{BlobKind, BlobManifest, MAX_CHUNK_BYTES};
pub use derived::Derived;
pub use error::{Error, Result};
pub use id::{ID_LEN, content_id, digest_matches, fast_digest, is_valid_id};
pub use kv::KeyValue;
pub use listing::Page;
pub use memory::MemoryKv;
pub use record::{ImageRecord, Placeholder, ThumbInfo, VariantInfo, VectorInfo};
pub use resumable::{Appended, Progress, Upload, is_valid_upload_id};
pub use store::Store;
