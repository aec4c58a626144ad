//! The store on a temporary directory: upserts are idempotent, scans are bounded by entity and
//! time, expiry follows what the processor sets once it is checkpointed, partitions are dropped
//! whole, state survives a reopen, the last write of a key in a batch wins, and reads stay right
//! when a file's index is split in many pieces.

use callsight_state::{Batch, Store, StoreOptions, Table, Window, WindowKey};

fn key(partition: u32, entity: &str, time: i64, sequence: i64) -> WindowKey<'_> {
    WindowKey {
        partition,
        window: Window::Radio,
        entity: entity.into(),
        time,
        sequence,
        source: "mist".into(),
    }
}

fn small() -> StoreOptions {
    StoreOptions {
        block_cache_bytes: 8 << 20,
        write_buffer_bytes: 8 << 20,
    }
}

#[test]
fn windows_are_upserted_scanned_by_time_and_expired() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), &small()).expect("opens");
    let mut batch = Batch::new();
    for t in 0..100 {
        batch.put_window(
            &key(1, "ap1/band_5ghz", t * 1000, t),
            format!("v{t}").into_bytes(),
        );
        batch.put_window(&key(1, "ap1/band_5", t * 1000, t), b"other entity");
        batch.put_window(&key(2, "ap1/band_5ghz", t * 1000, t), b"other partition");
    }
    // The same observation again: one record.
    batch.put_window(&key(1, "ap1/band_5ghz", 5000, 5), b"v5");
    store.write(batch).expect("writes");

    let found = store
        .window(1, Window::Radio, "ap1/band_5ghz", 10_000, 19_000)
        .expect("scans");
    assert_eq!(found.len(), 10);
    assert_eq!(found[0].0.time, 10_000);
    assert_eq!(found[9].1, b"v19");
    assert_eq!(
        store
            .window(1, Window::Radio, "ap1/band_5ghz", i64::MIN, i64::MAX)
            .expect("scans")
            .len(),
        100
    );
    assert!(
        store
            .window(1, Window::Ap, "ap1/band_5ghz", 0, i64::MAX)
            .expect("scans")
            .is_empty()
    );

    store.set_expiry(1, 50_000);
    // Not yet on disk with the state that set it: a crash could bring back an older watermark
    // that still needs these observations, so compaction keeps them.
    store.compact().expect("compacts");
    assert_eq!(
        store
            .window(1, Window::Radio, "ap1/band_5ghz", i64::MIN, i64::MAX)
            .expect("scans")
            .len(),
        100,
        "an expiry is applied only after a checkpoint"
    );
    store.checkpoint().expect("checkpoints");
    store.compact().expect("compacts");
    let kept = store
        .window(1, Window::Radio, "ap1/band_5ghz", i64::MIN, i64::MAX)
        .expect("scans");
    assert_eq!(kept.len(), 50, "older than the expiry time: dropped");
    assert_eq!(kept[0].0.time, 50_000);
    assert_eq!(
        store
            .window(2, Window::Radio, "ap1/band_5ghz", i64::MIN, i64::MAX)
            .expect("scans")
            .len(),
        100,
        "another partition's expiry is its own"
    );
}

#[test]
fn tables_are_ranged_per_partition_and_partitions_drop_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(dir.path(), &small()).expect("opens");
        let mut batch = Batch::new();
        for i in 0u8..10 {
            batch.put(Table::Legs, 3, &[i], vec![i]);
            batch.put(Table::Legs, 4, &[i], vec![i]);
        }
        batch.put(Table::Meta, 3, b"watermark", b"42".to_vec());
        batch.put_window(&key(3, "x", 1, 1), b"w");
        store.write(batch).expect("writes");
        let mut batch = Batch::new();
        batch.delete(Table::Legs, 3, &[0]);
        store.write(batch).expect("writes");
        let range = store.range(Table::Legs, 3, &[2], &[5]).expect("ranges");
        assert_eq!(
            range.iter().map(|(k, _)| k[0]).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        assert_eq!(
            store.range(Table::Legs, 3, &[], &[]).expect("ranges").len(),
            9
        );
    }
    // Reopened: still there.
    let store = Store::open(dir.path(), &small()).expect("reopens");
    assert_eq!(
        store.get(Table::Meta, 3, b"watermark").expect("reads"),
        Some(b"42".to_vec())
    );
    store.drop_partition(3).expect("drops");
    assert!(
        store
            .range(Table::Legs, 3, &[], &[])
            .expect("ranges")
            .is_empty()
    );
    assert!(
        store
            .get(Table::Meta, 3, b"watermark")
            .expect("reads")
            .is_none()
    );
    assert!(
        store
            .window(3, Window::Radio, "x", i64::MIN, i64::MAX)
            .expect("scans")
            .is_empty()
    );
    assert_eq!(
        store.range(Table::Legs, 4, &[], &[]).expect("ranges").len(),
        10
    );
    assert!(store.memory_bytes() > 0);
}

#[test]
fn within_a_batch_the_last_write_of_a_key_wins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), &small()).expect("opens");
    let mut batch = Batch::new();
    // Observations are written in key order, the later of two writes of one key last.
    batch.put_window(&key(1, "b", 5, 1), b"first");
    batch.put_window(&key(1, "a", 9, 1), b"a");
    batch.put_window(&key(1, "b", 5, 1), b"second");
    // Other tables keep the batch's order.
    batch.put(Table::Legs, 1, b"leg", b"waiting".to_vec());
    batch.delete(Table::Legs, 1, b"leg");
    batch.put(Table::Verdicts, 1, b"leg", b"old".to_vec());
    batch.put(Table::Verdicts, 1, b"leg", b"new".to_vec());
    store.write(batch).expect("writes");
    let b = store
        .window(1, Window::Radio, "b", i64::MIN, i64::MAX)
        .expect("scans");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].1, b"second");
    assert_eq!(store.get(Table::Legs, 1, b"leg").expect("reads"), None);
    assert_eq!(
        store.get(Table::Verdicts, 1, b"leg").expect("reads"),
        Some(b"new".to_vec())
    );
    // Flushed, the same.
    store.flush().expect("flushes");
    assert_eq!(
        store
            .window(1, Window::Radio, "b", i64::MIN, i64::MAX)
            .expect("scans")[0]
            .1,
        b"second"
    );
}

#[test]
fn windows_read_right_from_files_whose_index_and_filters_span_many_pieces() {
    // Hundreds of entities over an hour, about 5 MB compacted into one file, so that its index
    // is split into several 4 KiB partitions: every entity's window still comes back whole, in
    // time order and with its own values, and an entity never written (one past the last, a
    // shorter name, another band) finds nothing.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), &small()).expect("opens");
    let entities: Vec<String> = (0..400).map(|e| format!("ap{e:03}/band_5ghz")).collect();
    for minute in 0..60i64 {
        let mut batch = Batch::new();
        for entity in &entities {
            let value = format!("{entity} at {minute}").repeat(8);
            batch.put_window(&key(3, entity, minute * 60_000, minute), value.into_bytes());
        }
        store.write(batch).expect("writes");
        if minute % 20 == 19 {
            store.flush().expect("flushes");
        }
    }
    store.compact().expect("compacts");
    for entity in &entities {
        let found = store
            .window(3, Window::Radio, entity, 10 * 60_000, 49 * 60_000)
            .expect("scans");
        assert_eq!(found.len(), 40, "{entity}");
        assert!(found.iter().all(|(k, _)| k.entity == entity.as_str()));
        for ((key, value), minute) in found.iter().zip(10i64..) {
            assert_eq!(key.time, minute * 60_000, "{entity}");
            assert_eq!(
                value,
                &format!("{entity} at {minute}").repeat(8).into_bytes()
            );
        }
    }
    for missing in ["ap400/band_5ghz", "ap0/band_5ghz", "ap001/band_24ghz"] {
        assert!(
            store
                .window(3, Window::Radio, missing, i64::MIN, i64::MAX)
                .expect("scans")
                .is_empty(),
            "{missing}"
        );
    }
}
