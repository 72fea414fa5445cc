//! Dataset ingest: streamed validation with line and column, nothing stored on refusal,
//! row-range reads through the index equal the rows written.

use jobs::testkit as common;

use jobs::Error;
use jobs::dataset::{self, ColumnType, Format, IngestLimits};
use store::{KeyValue, MemoryKv};

const UPLOAD: &str = "0123456789abcdef0123456789abcdef";

fn limits() -> IngestLimits {
    IngestLimits {
        chunk_size: 1000,
        stride: 7,
        max_line_bytes: 200,
        max_bytes: 1 << 20,
        max_columns: 50,
    }
}

fn ingest(kv: &MemoryKv, body: &[u8], format: Format) -> jobs::Result<(dataset::Dataset, bool)> {
    // A reader that hands out 5 bytes at a time, as a network body might.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(out.len()).min(5);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    dataset::ingest(
        kv,
        Trickle(body),
        format,
        UPLOAD,
        &limits(),
        1_700_000_000_000_000,
    )
}

#[test]
fn csv_rows_columns_types_and_range_reads() {
    let kv = MemoryKv::new();
    let rows = common::sales(500, 1);
    let bytes = common::sales_csv(&rows);
    let (ds, created) = ingest(&kv, &bytes, Format::Csv).unwrap();
    assert!(created);
    assert_eq!(
        (ds.rows, ds.bytes, ds.id.clone()),
        (500, bytes.len() as u64, store::content_id(&bytes))
    );
    let types: Vec<_> = ds
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        types,
        [
            ("order_id", ColumnType::Number),
            ("merchant", ColumnType::String),
            ("amount", ColumnType::Number)
        ]
    );
    assert!(ds.chunk_sha.len() > 1, "the test needs several chunks");
    let mut all = Vec::new();
    ds.read_all(&kv, &mut all).unwrap();
    assert_eq!(all, bytes);

    let index = ds.index(&kv).unwrap();
    for range in [0..500, 0..1, 13..14, 6..8, 100..377, 499..500, 490..600] {
        let mut got = Vec::new();
        dataset::read_rows(&kv, &ds, &index, range.clone(), |r| {
            got.push((
                r[0].parse::<usize>().unwrap(),
                r[1].to_owned(),
                common::parse_cents(r[2]) as i64,
            ));
            Ok(())
        })
        .unwrap();
        let end = range.end.min(500) as usize;
        let want: Vec<_> = (range.start as usize..end)
            .map(|i| (i, rows[i].0.clone(), rows[i].1))
            .collect();
        assert_eq!(got, want, "range {range:?}");
    }

    // The same bytes again: the stored dataset, and this upload's chunks removed.
    let keys_before = kv.keys();
    let (again, created) = dataset::ingest(
        &kv,
        &bytes[..],
        Format::Csv,
        "fedcba9876543210fedcba9876543210",
        &limits(),
        5,
    )
    .unwrap();
    assert!(!created);
    assert_eq!(again, ds);
    assert_eq!(kv.keys(), keys_before);

    let (page, next) = dataset::list(&kv, 10, None).unwrap();
    assert_eq!((page, next), (vec![ds.clone()], None));
    assert!(dataset::delete(&kv, &ds.id).unwrap());
    assert!(kv.is_empty());
}

#[test]
fn ndjson_rows_and_types() {
    let kv = MemoryKv::new();
    let body =
        b"{\"a\": 1, \"b\": \"x\"}\n\n{\"a\": 2.5, \"b\": null, \"c\": true}\n{\"a\": -3e2}\n";
    let (ds, _) = ingest(&kv, body, Format::Ndjson).unwrap();
    assert_eq!(ds.rows, 3);
    let types: Vec<_> = ds
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        types,
        [
            ("a", ColumnType::Number),
            ("b", ColumnType::String),
            ("c", ColumnType::String)
        ]
    );
    let mut got = Vec::new();
    dataset::read_rows(&kv, &ds, &ds.index(&kv).unwrap(), 1..3, |r| {
        got.push(r.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        Ok(())
    })
    .unwrap();
    assert_eq!(got, [vec!["2.5", "", "true"], vec!["-300.0", "", ""]]);
}

fn refused(body: &[u8], format: Format) -> Error {
    let kv = MemoryKv::new();
    let err = ingest(&kv, body, format).unwrap_err();
    assert!(kv.is_empty(), "a refused body left keys: {:?}", kv.keys());
    err
}

fn at(err: &Error) -> (u64, Option<u64>) {
    match err {
        Error::BadData { line, column, .. } => (*line, *column),
        other => panic!("not a data error: {other:?}"),
    }
}

#[test]
fn bad_csv_names_line_and_column_and_stores_nothing() {
    // Enough good rows first that chunks were written before the fault is seen.
    let good: String = (0..300).map(|i| format!("{i},x,1.00\n")).collect();
    let ragged = format!("id,m,amount\n{good}1,2\n");
    assert_eq!(at(&refused(ragged.as_bytes(), Format::Csv)), (302, Some(3)));
    let mut utf8 = format!("id,m,amount\n{good}").into_bytes();
    utf8.extend_from_slice(b"7,ab\xff\xfe,1\n");
    assert_eq!(at(&refused(&utf8, Format::Csv)), (302, Some(2)));
    for (quote, column) in [
        (format!("id,m,amount\n{good}8,\"never closed,1\n9,x,2\n"), 3),
        (format!("id,m,amount\n{good}8,x,\"1\n"), 5),
        (
            format!("id,m,amount\n{good}8,\"a \"\"b\"\" c\",1\n9,\"x,2\n"),
            3,
        ),
    ] {
        let err = refused(quote.as_bytes(), Format::Csv);
        assert!(err.to_string().contains("never closed"), "{err}");
        let line = if quote.contains("\n9,\"") { 303 } else { 302 };
        assert_eq!(at(&err), (line, Some(column)), "{err}");
    }
    let long = format!("id,m,amount\n{good}1,{},2\n", "y".repeat(300));
    match refused(long.as_bytes(), Format::Csv) {
        Error::TooLarge(d) => assert!(d.contains("line 302"), "{d}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(at(&refused(b"", Format::Csv)), (1, None));
    assert_eq!(at(&refused(b"id,m,amount\n", Format::Csv)), (2, None));
    assert_eq!(at(&refused(b"id,id\n1,2\n", Format::Csv)), (1, Some(2)));
    let big = format!("id,m,amount\n{}", good.repeat(400));
    assert!(matches!(
        refused(big.as_bytes(), Format::Csv),
        Error::TooLarge(_)
    ));
    assert_eq!(
        at(&refused(b"{\"a\":1}\n{\"a\":2,}\n", Format::Ndjson)),
        (2, Some(8))
    );
    assert_eq!(at(&refused(b"{\"a\":1}\n[1,2]\n", Format::Ndjson)).0, 2);
    assert_eq!(at(&refused(b"\n\n", Format::Ndjson)), (1, None));
}

#[test]
fn a_store_fault_mid_ingest_leaves_nothing() {
    let bytes = common::sales_csv(&common::sales(400, 2));
    for n in [1, 3, 5] {
        let kv = MemoryKv::new();
        kv.fail_nth_write(n);
        let err = ingest(&kv, &bytes, Format::Csv).unwrap_err();
        assert!(
            matches!(err, Error::Store(store::Error::Backend(_))),
            "{err:?}"
        );
        assert!(kv.is_empty(), "fault on write {n} left {:?}", kv.keys());
        assert!(kv.get_keys().unwrap().is_empty());
    }
}

#[test]
fn a_dataset_already_in_chunks_is_ingested_in_place_like_a_streamed_one() {
    // What a resumable upload leaves: the bytes as dsc/{upload}/{n}, in chunk-size pieces.
    let rows = common::sales(500, 3);
    let bytes = common::sales_csv(&rows);
    let streamed = MemoryKv::new();
    let (expected, _) = ingest(&streamed, &bytes, Format::Csv).unwrap();

    let kv = MemoryKv::new();
    for (n, chunk) in bytes.chunks(1000).enumerate() {
        kv.set(&jobs::keys::dataset_chunk(UPLOAD, n as u32).unwrap(), chunk)
            .unwrap();
    }
    let before = kv.writes();
    let at = 1_700_000_000_000_000;
    let (ds, created) =
        dataset::ingest_stored(&kv, &bytes[..], Format::Csv, UPLOAD, &limits(), at).unwrap();
    assert!(created);
    assert_eq!(ds, expected, "the same record, chunk digests and index");
    assert_eq!(
        kv.writes() - before,
        3,
        "record, index and listing only: no chunk rewritten"
    );
    assert_eq!(
        ds.chunk(&kv, 2).unwrap(),
        bytes[2000..3000],
        "chunks read back checked against their digests"
    );

    // Refused in place: the chunks stay for their owner, nothing else is written.
    let bad = b"a,b\n1,2\n3\n".to_vec();
    let kv = MemoryKv::new();
    kv.set(&jobs::keys::dataset_chunk(UPLOAD, 0).unwrap(), &bad)
        .unwrap();
    let err =
        dataset::ingest_stored(&kv, &bad[..], Format::Csv, UPLOAD, &limits(), at).unwrap_err();
    assert!(matches!(err, Error::BadData { line: 3, .. }), "{err:?}");
    assert_eq!(
        kv.keys(),
        vec![jobs::keys::dataset_chunk(UPLOAD, 0).unwrap()]
    );
}

/// What the `jobs` component's store helper does, in one process: the bytes the ingest
/// sends are stored by `store_chunks` (the helper's side) when the body ends.
struct InProcessHelper<'a> {
    kv: &'a MemoryKv,
    sent: Vec<u8>,
}

impl jobs::chunked::ChunkSink for InProcessHelper<'_> {
    fn write(&mut self, bytes: &[u8]) -> jobs::Result<()> {
        self.sent.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(self) -> jobs::Result<(u64, String, Vec<String>)> {
        dataset::store_chunks(self.kv, &self.sent[..], UPLOAD, &limits())
    }

    fn abort(self) {}

    fn chunk_size(&self) -> u32 {
        limits().chunk_size
    }
}

#[test]
fn a_dataset_whose_chunks_another_instance_stores_is_the_same_dataset() {
    let bytes = common::sales_csv(&common::sales(700, 4));
    let (expected, _) = ingest(&MemoryKv::new(), &bytes, Format::Csv).unwrap();
    let kv = MemoryKv::new();
    let sink = InProcessHelper {
        kv: &kv,
        sent: Vec::new(),
    };
    let (ds, created) = dataset::ingest_to(
        &kv,
        &bytes[..],
        sink,
        Format::Csv,
        UPLOAD,
        &limits(),
        1_700_000_000_000_000,
    )
    .unwrap();
    assert!(created);
    assert_eq!(ds, expected, "the same record, id, chunk digests and index");
    assert_eq!(ds.chunk(&kv, 3).unwrap(), bytes[3000..4000]);

    // The helper's side alone: over the byte limit, or cut off, it leaves nothing.
    let small = IngestLimits {
        max_bytes: 2500,
        ..limits()
    };
    let kv = MemoryKv::new();
    let err = dataset::store_chunks(&kv, &bytes[..], UPLOAD, &small).unwrap_err();
    assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    assert!(kv.is_empty(), "{:?}", kv.keys());
    struct CutOff<'a>(&'a [u8]);
    impl std::io::Read for CutOff<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("the sender went away"));
            }
            let n = self.0.len().min(out.len()).min(1500);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let err = dataset::store_chunks(&kv, CutOff(&bytes[..4200]), UPLOAD, &limits()).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(kv.is_empty(), "{:?}", kv.keys());
}
