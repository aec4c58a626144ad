//! The RocksDB database: one per process, column families by kind of state, every key prefixed
//! by its Kafka partition.
//!
//! - `windows`: network observations ([`crate::keys::WindowKey`]), with a prefix extractor on
//!   the entity, prefix bloom filters, universal compaction, and a compaction filter that drops
//!   observations older than each partition's expiry time (set from the event-time watermark,
//!   never the clock).
//! - `legs`: call legs waiting for their windows to complete.
//! - `verdicts`: what was evaluated per leg (version, completeness).
//! - `scope`: leg observations for scope and alerts.
//! - `meta`: per-partition bookkeeping (watermark, applied offsets).
//! - `outbox`: outputs written in the same batch as the state that caused them, deleted once
//!   the broker acknowledged them, so a crash between the two loses no output.
//!
//! Memory is bounded: one LRU block cache shared by every column family (index and filter blocks
//! included, partitioned so that they are cached in small pieces), and one write-buffer budget
//! shared by their memtables.
//!
//! Writes skip the write-ahead log. The state is a cache of Kafka: column families flush
//! together (atomic flush), so after a crash the store is the state as of its last flush, whole
//! and consistent (windows, bookkeeping with the offsets it applied, outbox), and the processor
//! replays the partitions from those offsets. The processor flushes regularly
//! ([`Store::checkpoint`]) so that little is replayed, and a clean close flushes what is in
//! memory. The WAL would cost about a quarter of the processor's write time to protect nothing
//! replay does not restore.
//!
//! Expiry must not run ahead of the disk either: the compaction filter drops observations of
//! already flushed files, so it only applies an expiry the processor had set before the last
//! checkpoint. Otherwise, after a crash, the store would be back at an older watermark with
//! observations that watermark still needs already gone.

use crate::keys::{self, Window, WindowKey};
use rocksdb::compaction_filter::Decision;
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompactionStyle,
    DBCompressionType, Direction, FlushOptions, IteratorMode, Options, ReadOptions, SliceTransform,
    WriteBatch, WriteBufferManager, WriteOptions,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

/// A state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// RocksDB failed.
    #[error("state store")]
    Rocks(#[from] rocksdb::Error),
    /// The database lacks a column family it was opened with (a corrupt or foreign directory).
    #[error("state store: column family {0} is missing")]
    MissingColumnFamily(String),
    /// A record to store does not encode (a bug: stored records are built from decoded ones).
    #[error("state store: encoding a {what}")]
    Encode {
        /// What was being stored.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored record does not read back (a corrupt or foreign directory).
    #[error("state store: reading a stored {what}")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StateError {
    /// A stored record of kind `what` did not read back.
    pub fn decode(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StateError::Decode {
            what,
            source: Box::new(source),
        }
    }

    /// A record of kind `what` did not encode.
    pub fn encode(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StateError::Encode {
            what,
            source: Box::new(source),
        }
    }
}

/// Memory and tuning of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Block cache shared by every column family, bytes.
    pub block_cache_bytes: usize,
    /// Memtable budget shared by every column family, bytes.
    pub write_buffer_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 128 << 20,
        }
    }
}

/// A key (after the partition) and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A column family other than the windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Pending legs.
    Legs,
    /// Evaluations per leg.
    Verdicts,
    /// Scope observations.
    Scope,
    /// Per-partition bookkeeping.
    Meta,
    /// Outputs written with the state that caused them, until the broker acknowledges them.
    Outbox,
    /// Each wired client's last reported attachment (switch and port), kept past the windows'
    /// retention until a newer one or a leave replaces it.
    Attachments,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Legs => "legs",
            Table::Verdicts => "verdicts",
            Table::Scope => "scope",
            Table::Meta => "meta",
            Table::Outbox => "outbox",
            Table::Attachments => "attachments",
        }
    }

    const ALL: [Table; 6] = [
        Table::Legs,
        Table::Verdicts,
        Table::Scope,
        Table::Meta,
        Table::Outbox,
        Table::Attachments,
    ];
}

const WINDOWS: &str = "windows";

/// Writes applied together, atomically.
#[derive(Debug, Default)]
pub struct Batch {
    /// Observations' keys and values, back to back (one buffer, not two per observation).
    observations: Vec<u8>,
    /// Per observation: where its key starts in `observations`, its key's and value's lengths.
    spans: Vec<Span>,
    /// The other tables' writes, in order.
    ops: Vec<Op>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    key: usize,
    value: usize,
}

#[derive(Debug)]
enum Op {
    Put(Table, Vec<u8>, Vec<u8>),
    Delete(Table, Vec<u8>),
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// Whether nothing is in it.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.ops.is_empty()
    }

    /// Operations in it.
    pub fn len(&self) -> usize {
        self.spans.len() + self.ops.len()
    }

    /// Upserts an observation.
    pub fn put_window(&mut self, key: &WindowKey<'_>, value: impl AsRef<[u8]>) {
        let start = self.observations.len();
        key.encode_into(&mut self.observations);
        let key = self.observations.len() - start;
        let value = value.as_ref();
        self.observations.extend_from_slice(value);
        self.spans.push(Span {
            start,
            key,
            value: value.len(),
        });
    }

    /// Upserts `partition | key` in `table`.
    pub fn put(&mut self, table: Table, partition: u32, key: &[u8], value: Vec<u8>) {
        self.ops
            .push(Op::Put(table, keys::partitioned(partition, key), value));
    }

    /// Deletes `partition | key` from `table`.
    pub fn delete(&mut self, table: Table, partition: u32, key: &[u8]) {
        self.ops
            .push(Op::Delete(table, keys::partitioned(partition, key)));
    }
}

type Expiry = Arc<RwLock<HashMap<u32, i64>>>;

/// The process's state database.
pub struct Store {
    db: DB,
    /// Per partition, what the processor said may expire (ahead of the disk).
    requested: Mutex<HashMap<u32, i64>>,
    /// What the compaction filter drops: `requested` as of the last checkpoint.
    expiry: Expiry,
    cache: Cache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.db.path().display())
    }
}

fn base_options(cache: &Cache, prefix_bloom: bool) -> (Options, BlockBasedOptions) {
    let mut block = BlockBasedOptions::default();
    block.set_block_cache(cache);
    block.set_bloom_filter(10.0, false);
    block.set_cache_index_and_filter_blocks(true);
    // Partitioned index and filters, read and cached in 4 KiB pieces. Whole, the index of one of
    // the windows' large files is about 1 MiB, and after a burst every window read was reading
    // it again from the file: a leg's view took about 8 ms instead of 1 (BENCHMARKS.md).
    block.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    block.set_partition_filters(true);
    block.set_metadata_block_size(4096);
    block.set_pin_top_level_index_and_filter(true);
    block.set_whole_key_filtering(!prefix_bloom);
    let mut options = Options::default();
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_level_compaction_dynamic_level_bytes(true);
    (options, block)
}

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &Path, tuning: &StoreOptions) -> Result<Store, StateError> {
        let cache = Cache::new_lru_cache(tuning.block_cache_bytes);
        let buffers =
            WriteBufferManager::new_write_buffer_manager(tuning.write_buffer_bytes, false);
        let expiry: Expiry = Arc::default();

        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_max_background_jobs(2);
        db_options.set_write_buffer_manager(&buffers);
        db_options.set_bytes_per_sync(1 << 20);
        // Column families flush together, so what a batch wrote across them survives together.
        db_options.set_atomic_flush(true);

        let (mut windows, block) = base_options(&cache, true);
        windows.set_prefix_extractor(SliceTransform::create(
            "callsight.entity",
            keys::entity_prefix,
            Some(keys::has_entity_prefix),
        ));
        // No prefix bloom filter in the memtable: every observation would pay for it (5-10 %
        // of the throughput, BENCHMARKS.md), and it would spare a window read only a seek in
        // the memtable. The files' prefix filters stay.
        windows.set_block_based_table_factory(&block);
        windows.set_write_buffer_size(32 << 20);
        // Every minute brings an observation for each entity, across the whole key space, so
        // leveled compaction would rewrite most of the tree over and over; universal compaction
        // writes each observation a few times only (2.4 times the throughput at 100,000 clients
        // and four hours retained, see BENCHMARKS.md).
        windows.set_compaction_style(DBCompactionStyle::Universal);
        // Expired observations leave the disk when compaction passes over them: at least hourly.
        windows.set_periodic_compaction_seconds(3600);
        let filter_expiry = expiry.clone();
        windows.set_compaction_filter(
            "callsight.expiry",
            move |_level, key: &[u8], _value: &[u8]| {
                let (Some(partition), Some(time)) =
                    (keys::key_partition(key), keys::window_key_time(key))
                else {
                    return Decision::Keep;
                };
                let before = filter_expiry
                    .read()
                    .map(|e| e.get(&partition).copied())
                    .unwrap_or(None);
                match before {
                    Some(before) if time < before => Decision::Remove,
                    _ => Decision::Keep,
                }
            },
        );
        let mut descriptors = vec![ColumnFamilyDescriptor::new(WINDOWS, windows)];
        for table in Table::ALL {
            let (mut options, block) = base_options(&cache, false);
            options.set_block_based_table_factory(&block);
            descriptors.push(ColumnFamilyDescriptor::new(table.name(), options));
        }
        let db = DB::open_cf_descriptors(&db_options, path, descriptors)?;
        Ok(Store {
            db,
            requested: Mutex::default(),
            expiry,
            cache,
        })
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StateError::MissingColumnFamily(name.to_string()))
    }

    /// Applies a batch atomically.
    pub fn write(&self, batch: Batch) -> Result<(), StateError> {
        let mut write = WriteBatch::default();
        let windows = self.cf(WINDOWS)?;
        // Observations go in key order: each lands next to the one before it in the memtable,
        // which makes inserting them much cheaper. A stable sort keeps the last of two writes
        // of one key last; the other tables keep the batch's order.
        let Batch {
            observations,
            mut spans,
            ops,
        } = batch;
        let key = |s: &Span| &observations[s.start..s.start + s.key];
        spans.sort_by(|a, b| key(a).cmp(key(b)));
        for span in &spans {
            let value = span.start + span.key;
            write.put_cf(windows, key(span), &observations[value..value + span.value]);
        }
        for op in ops {
            match op {
                Op::Put(t, k, v) => write.put_cf(self.cf(t.name())?, k, v),
                Op::Delete(t, k) => write.delete_cf(self.cf(t.name())?, k),
            }
        }
        self.apply(write)
    }

    fn apply(&self, write: WriteBatch) -> Result<(), StateError> {
        let mut options = WriteOptions::default();
        options.disable_wal(true);
        self.db.write_opt(write, &options)?;
        Ok(())
    }

    /// Writes what is in memory to disk, every column family together.
    pub fn flush(&self) -> Result<(), StateError> {
        let families: Vec<&rocksdb::ColumnFamily> = std::iter::once(WINDOWS)
            .chain(Table::ALL.iter().map(|t| t.name()))
            .map(|name| self.cf(name))
            .collect::<Result<_, _>>()?;
        self.db.flush_cfs_opt(&families, &FlushOptions::default())?;
        Ok(())
    }

    /// Observations of one entity's window with `from <= time <= to`, in time order.
    pub fn window(
        &self,
        partition: u32,
        window: Window,
        entity: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(WindowKey<'static>, Vec<u8>)>, StateError> {
        if from > to {
            return Ok(Vec::new());
        }
        let prefix = keys::window_prefix(partition, window, entity);
        let mut lower = prefix.clone();
        lower.extend_from_slice(&keys::time_bytes(from));
        let upper = match to.checked_add(1) {
            Some(next) => {
                let mut upper = prefix.clone();
                upper.extend_from_slice(&keys::time_bytes(next));
                upper
            }
            None => keys::prefix_end(&prefix),
        };
        let mut read = ReadOptions::default();
        read.set_prefix_same_as_start(true);
        read.set_iterate_lower_bound(lower.clone());
        read.set_iterate_upper_bound(upper);
        let iter = self.db.iterator_cf_opt(
            self.cf(WINDOWS)?,
            read,
            IteratorMode::From(&lower, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item?;
            if let Some(key) = WindowKey::decode(&key) {
                out.push((key, value.to_vec()));
            }
        }
        Ok(out)
    }

    /// The value of `partition | key` in `table`.
    pub fn get(
        &self,
        table: Table,
        partition: u32,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .db
            .get_cf(self.cf(table.name())?, keys::partitioned(partition, key))?)
    }

    /// Entries of `table` with `from <= key < to` (both after the partition), in key order; an
    /// empty `to` means every key of the partition from `from` on.
    pub fn range(
        &self,
        table: Table,
        partition: u32,
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<Entry>, StateError> {
        self.range_limited(table, partition, from, to, usize::MAX)
    }

    /// The first `limit` entries of [`Store::range`].
    pub fn range_limited(
        &self,
        table: Table,
        partition: u32,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError> {
        let lower = keys::partitioned(partition, from);
        let upper = if to.is_empty() {
            keys::prefix_end(&partition.to_be_bytes())
        } else {
            keys::partitioned(partition, to)
        };
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(lower.clone());
        if !upper.is_empty() {
            read.set_iterate_upper_bound(upper);
        }
        let iter = self.db.iterator_cf_opt(
            self.cf(table.name())?,
            read,
            IteratorMode::From(&lower, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter.take(limit) {
            let (key, value) = item?;
            out.push((key[4..].to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Observations of `partition` older than `before` may be dropped once the state that
    /// says so is on disk, that is from the next [`Store::checkpoint`] on (by compaction;
    /// readers filter by time as well).
    pub fn set_expiry(&self, partition: u32, before: i64) {
        let mut requested = self.requested.lock().unwrap_or_else(|e| e.into_inner());
        let entry = requested.entry(partition).or_insert(before);
        *entry = (*entry).max(before);
    }

    /// Writes what is in memory to disk, then lets compaction apply the expiry set before: a
    /// crash after this leaves at least the state written before it.
    pub fn checkpoint(&self) -> Result<(), StateError> {
        let requested = self
            .requested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.flush()?;
        let mut expiry = self.expiry.write().unwrap_or_else(|e| e.into_inner());
        for (partition, before) in requested {
            let entry = expiry.entry(partition).or_insert(before);
            *entry = (*entry).max(before);
        }
        Ok(())
    }

    /// Forgets a partition entirely (another process owns it now).
    pub fn drop_partition(&self, partition: u32) -> Result<(), StateError> {
        let from = partition.to_be_bytes().to_vec();
        let to = (partition as u64 + 1).to_be_bytes()[4..].to_vec();
        let to = if partition == u32::MAX {
            vec![0xFF; 5]
        } else {
            to
        };
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(WINDOWS)?, &from, &to);
        for table in Table::ALL {
            batch.delete_range_cf(self.cf(table.name())?, &from, &to);
        }
        self.apply(batch)?;
        // On disk at once: a crash must not bring back a partition this process no longer
        // owns (nothing would expire it).
        self.flush()?;
        self.requested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&partition);
        self.expiry
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&partition);
        Ok(())
    }

    /// Compacts every column family now, dropping what the last checkpoint's expiry allows
    /// (tests, and after large expiries).
    pub fn compact(&self) -> Result<(), StateError> {
        self.db
            .compact_range_cf(self.cf(WINDOWS)?, None::<&[u8]>, None::<&[u8]>);
        for table in Table::ALL {
            self.db
                .compact_range_cf(self.cf(table.name())?, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Memory the store uses now: memtables and the block cache, bytes.
    pub fn memory_bytes(&self) -> u64 {
        let memtables: u64 = std::iter::once(WINDOWS)
            .chain(Table::ALL.iter().map(|t| t.name()))
            .filter_map(|name| self.cf(name).ok())
            .filter_map(|cf| {
                self.db
                    .property_int_value_cf(cf, "rocksdb.cur-size-all-mem-tables")
                    .ok()
                    .flatten()
            })
            .sum();
        memtables + self.cache.get_usage() as u64
    }

    /// Approximate size of the windows on disk, bytes.
    pub fn disk_bytes(&self) -> u64 {
        self.cf(WINDOWS)
            .ok()
            .and_then(|cf| {
                self.db
                    .property_int_value_cf(cf, "rocksdb.total-sst-files-size")
                    .ok()
                    .flatten()
            })
            .unwrap_or(0)
    }
}
