//! One partition's processing in event time. Synchronous and free of Kafka: records in, outputs
//! out, state in the [`Store`].
//!
//! - Telemetry goes into the windows (an idempotent upsert per observation) and moves the
//!   partition's watermark: the newest event time seen minus `allowed_lateness`. An observation
//!   older than the watermark is late: still applied while inside retention (and counted),
//!   dropped (and counted) when older than `watermark − retention`.
//! - A leg waits in RocksDB until the watermark passes its end plus the evidence margin and the
//!   settle margin, and until every earlier leg of the partition was evaluated: legs are
//!   evaluated in offset order, so the order of evaluation, and with it every verdict, follows
//!   from each topic's own order and not from how the two interleave or how records were
//!   batched. A leg off every known site has no windows to wait for. A leg still waiting
//!   `max_wait` after it arrived (wall clock) is evaluated with what there is and marked
//!   partial; it is evaluated again, complete, when its turn comes.
//! - A leg whose version is not newer than one evaluated (or waiting) is skipped; a newer one
//!   waits in its turn and replaces the older one's verdict. An older version still waiting is
//!   evaluated too, in its turn, so that every version counts in scope at its own offset.
//! - Scope counts, for a leg, the legs at earlier offsets of the partition (see
//!   `LegObservation::sequence`); its observations are kept in the store, so a restart rebuilds
//!   it.
//!
//! Layout: this module is the partition itself; `records` holds what goes in and out (settings,
//! consumed records, outputs and their outbox encoding, counts), `stored` how its bookkeeping is
//! kept in the store (meta, waiting legs, evaluations).

mod records;
mod stored;

pub use records::{Committed, Counts, Outgoing, Output, Record, Settings, Unappliable};
pub use stored::Meta;

use crate::view::{self, Span};
use crate::{attachment, index, ip_binding};
use callsight_inventory::Inventory;
use callsight_model::types::CallLeg;
use callsight_rca::{LegObservation, ScopeTracker};
use callsight_state::keys::time_bytes;
use callsight_state::{Batch, StateError, Store, Table};
use std::collections::HashMap;
use stored::{META_KEY, PENDING_INDEX, Pending, evaluated_parse, evaluated_value, pending_key};

/// One partition's processing state.
pub struct Partition {
    id: u32,
    meta: Meta,
    scope: ScopeTracker,
    /// Leg → end of its scope observation (its key in the scope table).
    scope_ends: HashMap<String, i64>,
    /// Expiry last applied to scope and evaluation records.
    cleaned_before: i64,
    /// Next outbox sequence.
    next_outbox: u64,
    /// Latest leg end evaluated (event time of alert updates).
    last_evaluated_end: i64,
    /// Event time of the last alert update.
    alerted_at: i64,
    /// What the IP binding window was given.
    ip_bindings: ip_binding::Written,
    /// Legs whose evaluation panicked, until the runner takes them.
    unappliable: Vec<Unappliable>,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("id", &self.id)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// What became of a waiting leg handed to evaluation.
enum Guarded {
    /// Evaluated: its output, if any.
    Evaluated(Option<Outgoing>),
    /// Its evaluation panicked: forgotten, kept as [`Unappliable`].
    Forgotten,
}

impl Partition {
    /// Loads a partition's bookkeeping and scope from the store (empty when it has none).
    pub fn open(store: &Store, id: u32) -> Result<Partition, StateError> {
        let meta = match store.get(Table::Meta, id, META_KEY)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StateError::decode("partition meta", e))?,
            None => Meta::default(),
        };
        let mut scope = ScopeTracker::new();
        let mut scope_ends = HashMap::new();
        for (_, value) in store.range(Table::Scope, id, &[], &[])? {
            if let Ok(observation) = serde_json::from_slice::<LegObservation>(&value) {
                scope_ends.insert(observation.leg_id.clone(), observation.end);
                scope.observe(observation);
            }
        }
        let next_outbox = store
            .range(Table::Outbox, id, &[], &[])?
            .last()
            .and_then(|(k, _)| k.get(..8)?.try_into().ok().map(u64::from_be_bytes))
            .map_or(0, |last| last + 1);
        Ok(Partition {
            id,
            meta,
            scope,
            scope_ends,
            cleaned_before: i64::MIN,
            next_outbox,
            last_evaluated_end: i64::MIN,
            alerted_at: i64::MIN,
            ip_bindings: ip_binding::Written::default(),
            unappliable: Vec::new(),
        })
    }

    /// The partition.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its bookkeeping.
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// The watermark: newest event time minus the allowed lateness. Saturating: an event time at
    /// the end of the range (a hostile sender's) must neither panic nor wrap.
    pub fn watermark(&self, settings: &Settings) -> Option<i64> {
        self.meta
            .max_time
            .map(|t| t.saturating_sub(settings.lateness_ms))
    }

    fn expired_before(&self, settings: &Settings) -> i64 {
        self.watermark(settings)
            .map_or(i64::MIN, |w| w.saturating_sub(settings.retention_ms))
    }

    fn put_meta(&self, batch: &mut Batch) -> Result<(), StateError> {
        batch.put(
            Table::Meta,
            self.id,
            META_KEY,
            serde_json::to_vec(&self.meta).map_err(|e| StateError::encode("partition meta", e))?,
        );
        Ok(())
    }

    /// Applies records in order and evaluates what became ready; `now` is the wall clock
    /// (recorded with waiting legs, for `max_wait`, and bounding the watermark). Outputs are
    /// written to the outbox with the state; while restoring (`restore`), those already
    /// published are not. The records are only read: a caller can apply them again, one by one,
    /// when applying them panicked.
    pub fn apply(
        &mut self,
        store: &Store,
        inventory: &Inventory,
        settings: &Settings,
        records: &[Record],
        now: i64,
        restore: Option<Committed>,
    ) -> Result<(Vec<Outgoing>, Counts), StateError> {
        let mut counts = Counts::default();
        let mut outputs = Vec::new();
        // Every record of the batch was consumed before: what it causes was published before.
        let replayed = restore.filter(|c| {
            records.iter().all(|r| match r {
                Record::Sample { offset, .. } => *offset < c.telemetry,
                Record::Leg { offset, .. } => *offset < c.legs,
            })
        });
        let mut batch = Batch::new();
        let mut attachments = attachment::Pending::new();
        for record in records {
            match record {
                Record::Sample {
                    sample,
                    bytes,
                    offset,
                } => {
                    self.meta.telemetry_offset = self.meta.telemetry_offset.max(*offset);
                    if sample.time < self.expired_before(settings) {
                        counts.late_dropped += 1;
                        continue;
                    }
                    // One event time far ahead of the wall clock must not move the watermark
                    // past every later record.
                    let ceiling = now.saturating_add(settings.max_lead_ms);
                    let time = sample.time.min(ceiling);
                    if sample.time > ceiling {
                        counts.clamped += 1;
                    } else if self.watermark(settings).is_some_and(|w| sample.time < w) {
                        counts.late_applied += 1;
                    } else {
                        counts.samples += 1;
                    }
                    index::put(&mut batch, self.id, sample, bytes, &mut self.ip_bindings);
                    attachment::put(&mut batch, store, self.id, sample, &mut attachments)?;
                    self.meta.max_time = Some(self.meta.max_time.map_or(time, |t| t.max(time)));
                }
                Record::Leg { leg, offset } => {
                    self.meta.legs_offset = self.meta.legs_offset.max(*offset);
                    // Legs read what earlier records wrote.
                    if !batch.is_empty() {
                        store.write(std::mem::take(&mut batch))?;
                    }
                    match self.take_leg(store, &mut batch, (**leg).clone(), *offset, now)? {
                        Taken::Stale => counts.stale_legs += 1,
                        Taken::Waiting => counts.legs += 1,
                    }
                }
            }
        }
        self.put_meta(&mut batch)?;
        store.write(batch)?;
        let expired = self.expired_before(settings);
        store.set_expiry(self.id, expired);
        // Only late observations fall in buckets behind the watermark; forgetting those groups
        // bounds the memory by the IPs seen lately.
        if let Some(watermark) = self.watermark(settings) {
            self.ip_bindings.forget_before(watermark);
        }

        // Waiting legs in offset order, as long as each is ready: a leg is evaluated only after
        // every earlier leg of the partition, so the scope it sees does not depend on batching
        // or on how the topics interleave.
        let ready_end = self.watermark(settings).map(|w| {
            w.saturating_sub(settings.margin_ms())
                .saturating_sub(settings.settle_ms)
        });
        let mut from = Vec::new();
        'scan: loop {
            let page = store.range_limited(Table::Legs, self.id, &from, &[], LEG_PAGE)?;
            let last_page = page.len() < LEG_PAGE;
            for (key, value) in page {
                let Some(pending) = Pending::decode(&value) else {
                    tracing::warn!(
                        partition = self.id,
                        "a waiting leg does not decode; dropped"
                    );
                    let mut batch = Batch::new();
                    batch.delete(Table::Legs, self.id, &key);
                    store.write(batch)?;
                    continue;
                };
                // A leg off every known site has no windows to wait for.
                let ready = pending.leg.site_id.is_none()
                    || ready_end.is_some_and(|r| pending.leg.leg_end <= r);
                if !ready {
                    break 'scan;
                }
                let suppress = replayed.is_some_and(|c| pending.offset < c.legs);
                let Guarded::Evaluated(evaluated) =
                    self.evaluate_guarded(store, inventory, settings, &pending, false, suppress)?
                else {
                    from = [key.as_slice(), &[0]].concat();
                    continue;
                };
                outputs.extend(evaluated);
                counts.evaluated += 1;
                counts.suppressed += u64::from(suppress);
                from = [key.as_slice(), &[0]].concat();
            }
            if last_page {
                break;
            }
        }
        let alerts = self.alerts(store, settings, &outputs, replayed.is_some())?;
        outputs.extend(alerts);
        self.clean(store, settings, expired)?;
        Ok((outputs, counts))
    }

    /// Evaluates, partial, the legs that have waited `max_wait` (wall clock) without their
    /// windows completing.
    pub fn tick(
        &mut self,
        store: &Store,
        inventory: &Inventory,
        settings: &Settings,
        now: i64,
    ) -> Result<(Vec<Outgoing>, Counts), StateError> {
        let mut outputs = Vec::new();
        let mut counts = Counts::default();
        for (_, value) in store.range(Table::Legs, self.id, &[], &[])? {
            let Some(pending) = Pending::decode(&value) else {
                continue;
            };
            if pending.partial_sent || now - pending.arrived_at < settings.max_wait_ms {
                continue;
            }
            let Guarded::Evaluated(evaluated) =
                self.evaluate_guarded(store, inventory, settings, &pending, true, false)?
            else {
                continue;
            };
            outputs.extend(evaluated);
            counts.partial += 1;
        }
        let alerts = self.alerts(store, settings, &outputs, false)?;
        outputs.extend(alerts);
        Ok((outputs, counts))
    }

    /// Legs whose evaluation panicked since the last call, for the dead-letter topic.
    pub fn take_unappliable(&mut self) -> Vec<Unappliable> {
        std::mem::take(&mut self.unappliable)
    }

    /// Evaluates a waiting leg, or, when that panics (a leg no evaluation can take, written by
    /// whoever can write to the topic), forgets it and keeps it as [`Unappliable`]. The
    /// legs after it go on; a panic does not stop the processor, nor come back after a restart.
    fn evaluate_guarded(
        &mut self,
        store: &Store,
        inventory: &Inventory,
        settings: &Settings,
        pending: &Pending,
        partial: bool,
        suppress: bool,
    ) -> Result<Guarded, StateError> {
        let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.evaluate(
                store,
                inventory,
                settings,
                &pending.leg,
                pending.offset,
                partial,
                suppress,
            )
        }));
        match evaluated {
            Ok(result) => result.map(Guarded::Evaluated),
            Err(panic) => {
                let error = callsight_core::error::panic_message(&*panic);
                self.forget_leg(store, &pending.leg, pending.offset)?;
                self.unappliable.push(Unappliable {
                    leg: pending.leg.clone(),
                    offset: pending.offset,
                    error,
                });
                Ok(Guarded::Forgotten)
            }
        }
    }

    /// Forgets a waiting leg: it no longer waits, so evaluating the legs after it does not meet
    /// it again.
    fn forget_leg(&self, store: &Store, leg: &CallLeg, offset: i64) -> Result<(), StateError> {
        let key = pending_key(offset, &leg.leg_id);
        let index_key = [PENDING_INDEX, leg.leg_id.as_bytes()].concat();
        let mut batch = Batch::new();
        batch.delete(Table::Legs, self.id, &key);
        if store.get(Table::Meta, self.id, &index_key)?.as_deref() == Some(key.as_slice()) {
            batch.delete(Table::Meta, self.id, &index_key);
        }
        store.write(batch)
    }

    fn take_leg(
        &mut self,
        store: &Store,
        batch: &mut Batch,
        leg: CallLeg,
        offset: i64,
        now: i64,
    ) -> Result<Taken, StateError> {
        let id = leg.leg_id.as_bytes();
        if let Some((version, complete, _)) = store
            .get(Table::Verdicts, self.id, id)?
            .as_deref()
            .and_then(evaluated_parse)
            && (version > leg.record_version || (version == leg.record_version && complete))
        {
            return Ok(Taken::Stale);
        }
        let index_key = [PENDING_INDEX, id].concat();
        if let Some(old_key) = store.get(Table::Meta, self.id, &index_key)? {
            let old = store
                .get(Table::Legs, self.id, &old_key)?
                .as_deref()
                .and_then(Pending::decode);
            if old
                .as_ref()
                .is_some_and(|p| p.leg.record_version >= leg.record_version)
            {
                return Ok(Taken::Stale);
            }
            // The older version keeps waiting and is evaluated in its turn: every version is
            // evaluated at its own offset whatever the batching, so the scope later legs see
            // does not depend on it.
        }
        let key = pending_key(offset, &leg.leg_id);
        let pending = Pending {
            offset,
            arrived_at: now,
            partial_sent: false,
            leg,
        };
        batch.put(Table::Legs, self.id, &key, pending.encode()?);
        batch.put(Table::Meta, self.id, &index_key, key);
        Ok(Taken::Waiting)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the evaluation's inputs, each needed"
    )]
    fn evaluate(
        &mut self,
        store: &Store,
        inventory: &Inventory,
        settings: &Settings,
        leg: &CallLeg,
        offset: i64,
        partial: bool,
        suppress: bool,
    ) -> Result<Option<Outgoing>, StateError> {
        let span = Span {
            expired_before: self.expired_before(settings),
            margin_ms: settings.margin_ms(),
            baseline_history_ms: settings.baseline_history_ms,
            baseline_slices: settings.baseline_slices,
        };
        let mut view = view::build(store, self.id, leg, inventory, &settings.rca, span)?;
        if partial {
            view.partial = true;
            view.missing.push(
                "network windows not complete yet (evaluated after processor.max_wait)".into(),
            );
        }
        let evaluation = callsight_rca::evaluate_at(
            leg,
            &view,
            &self.scope,
            callsight_rca::Settings {
                classification: &settings.classification,
                rca: &settings.rca,
            },
            Some(offset),
        );
        let mut batch = Batch::new();
        let observation = evaluation.observation;
        if let Some(old_end) = self
            .scope_ends
            .insert(observation.leg_id.clone(), observation.end)
        {
            batch.delete(
                Table::Scope,
                self.id,
                &scope_key(old_end, &observation.leg_id),
            );
        }
        batch.put(
            Table::Scope,
            self.id,
            &scope_key(observation.end, &observation.leg_id),
            serde_json::to_vec(&observation)
                .map_err(|e| StateError::encode("scope observation", e))?,
        );
        self.scope.observe(observation);
        batch.put(
            Table::Verdicts,
            self.id,
            leg.leg_id.as_bytes(),
            evaluated_value(leg.record_version, !partial, leg.leg_end),
        );
        let index_key = [PENDING_INDEX, leg.leg_id.as_bytes()].concat();
        let key = pending_key(offset, &leg.leg_id);
        if partial {
            let pending = Pending {
                offset,
                arrived_at: 0,
                partial_sent: true,
                leg: leg.clone(),
            };
            batch.put(Table::Legs, self.id, &key, pending.encode()?);
        } else {
            batch.delete(Table::Legs, self.id, &key);
            // The index names the newest waiting version; it goes with that version.
            if store.get(Table::Meta, self.id, &index_key)?.as_deref() == Some(key.as_slice()) {
                batch.delete(Table::Meta, self.id, &index_key);
            }
        }
        self.last_evaluated_end = self.last_evaluated_end.max(leg.leg_end);
        let output = Output::Verdict {
            verdict: Box::new(evaluation.verdict),
            leg_offset: offset,
        };
        let outgoing = if suppress {
            None
        } else {
            Some(self.outbox(&mut batch, output)?)
        };
        store.write(batch)?;
        Ok(outgoing)
    }

    /// Puts an output in the outbox (in `batch`, with the state that caused it).
    fn outbox(&mut self, batch: &mut Batch, output: Output) -> Result<Outgoing, StateError> {
        let key = self.next_outbox.to_be_bytes().to_vec();
        self.next_outbox += 1;
        batch.put(Table::Outbox, self.id, &key, output.encode()?);
        Ok(Outgoing {
            outbox_key: key,
            output,
        })
    }

    /// Alerts raised or cleared by the evaluations just made.
    fn alerts(
        &mut self,
        store: &Store,
        settings: &Settings,
        evaluated: &[Outgoing],
        suppress: bool,
    ) -> Result<Vec<Outgoing>, StateError> {
        if evaluated.is_empty() && self.last_evaluated_end == self.alerted_at {
            return Ok(Vec::new());
        }
        let at = self.last_evaluated_end;
        if at == i64::MIN {
            return Ok(Vec::new());
        }
        self.alerted_at = at;
        let alerts = self.scope.update_alerts(at, &settings.rca);
        if suppress || alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = Batch::new();
        let mut out = Vec::new();
        for alert in alerts {
            out.push(self.outbox(&mut batch, Output::Alert(Box::new(alert)))?);
        }
        store.write(batch)?;
        Ok(out)
    }

    /// The outputs still in the outbox (not acknowledged), oldest first.
    pub fn unsent(&self, store: &Store) -> Result<Vec<Outgoing>, StateError> {
        Ok(store
            .range(Table::Outbox, self.id, &[], &[])?
            .into_iter()
            .filter_map(|(key, value)| {
                Some(Outgoing {
                    outbox_key: key,
                    output: Output::decode(&value)?,
                })
            })
            .collect())
    }

    /// Removes acknowledged outputs from the outbox.
    pub fn acknowledge(&self, store: &Store, keys: &[Vec<u8>]) -> Result<(), StateError> {
        let mut batch = Batch::new();
        for key in keys {
            batch.delete(Table::Outbox, self.id, key);
        }
        store.write(batch)
    }

    /// Forgets the outbox (its outputs will be published again by whoever replays them).
    pub fn discard_outbox(&self, store: &Store) -> Result<(), StateError> {
        let mut batch = Batch::new();
        for (key, _) in store.range(Table::Outbox, self.id, &[], &[])? {
            batch.delete(Table::Outbox, self.id, &key);
        }
        store.write(batch)
    }

    /// Drops scope observations and evaluation records older than retention, and wired
    /// attachments not reported again within their retention.
    fn clean(
        &mut self,
        store: &Store,
        settings: &Settings,
        expired: i64,
    ) -> Result<(), StateError> {
        // Every ten minutes of event time is often enough.
        if expired == i64::MIN || expired < self.cleaned_before.saturating_add(600_000) {
            return Ok(());
        }
        self.cleaned_before = expired;
        self.scope.expire(expired);
        let mut batch = Batch::new();
        for (key, _) in store.range(Table::Scope, self.id, &[], &time_bytes(expired))? {
            batch.delete(Table::Scope, self.id, &key);
        }
        self.scope_ends.retain(|_, end| *end >= expired);
        for (key, value) in store.range(Table::Verdicts, self.id, &[], &[])? {
            if evaluated_parse(&value).is_some_and(|(_, _, end)| end < expired) {
                batch.delete(Table::Verdicts, self.id, &key);
            }
        }
        let forgotten = expired
            .saturating_add(settings.retention_ms)
            .saturating_sub(settings.attachment_retention_ms);
        for (key, value) in store.range(Table::Attachments, self.id, &[], &[])? {
            if attachment::time_of(&value).is_none_or(|t| t < forgotten) {
                batch.delete(Table::Attachments, self.id, &key);
            }
        }
        store.write(batch)
    }
}

enum Taken {
    Stale,
    Waiting,
}

/// Waiting legs read from RocksDB at a time.
const LEG_PAGE: usize = 256;

fn scope_key(end: i64, leg_id: &str) -> Vec<u8> {
    let mut key = time_bytes(end).to_vec();
    key.extend_from_slice(leg_id.as_bytes());
    key
}
