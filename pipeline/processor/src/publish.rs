//! Publishing a batch's outputs: with the outbox and broker acknowledgements (the default), or in
//! a Kafka transaction with the input offsets; once published, they leave the outbox.

use crate::events::Transaction;
use crate::partition::{Outgoing, Output, Partition};
use crate::run::Run;
use callsight_core::codec::EncodeError;
use callsight_core::error::Report;
use callsight_kafka::consumer::ConsumerHandle;
use callsight_kafka::producer::ProduceError;
use callsight_kafka::transactions::{NextOffset, TransactionalProducer, TxnError, TxnRecord};
use callsight_model::keys;
use std::time::{Duration, Instant};

/// An output could not be handed to the broker.
#[derive(Debug, thiserror::Error)]
enum OutputError {
    /// It does not encode (a bug: outputs are built from decoded records).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The broker did not acknowledge it.
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

/// Publishes a batch's outputs (and, in a transaction, the offsets after the batch), retrying
/// until the broker took them; then removes them from the outbox. `false` when the processor
/// stops first (the outputs stay in the outbox).
pub(crate) async fn publish(
    run: &Run,
    handle: &ConsumerHandle,
    partition: &Partition,
    outgoing: Vec<Outgoing>,
    offsets: &[NextOffset],
    taken: Option<Instant>,
    token: &tokio_util::sync::CancellationToken,
) -> bool {
    let published = match &run.transactions {
        None if outgoing.is_empty() => return true,
        Some(_) if outgoing.is_empty() && offsets.is_empty() => return true,
        None => publish_acknowledged(run, &outgoing, token).await,
        Some(txn) => publish_in_transaction(run, txn, handle, &outgoing, offsets, token).await,
    };
    if !published {
        return false;
    }
    run.metrics.outputs_published(&outgoing, taken);
    let keys: Vec<Vec<u8>> = outgoing.into_iter().map(|o| o.outbox_key).collect();
    if let Err(e) = partition.acknowledge(&run.store, &keys) {
        tracing::warn!(error = %Report(&e), "cannot clear acknowledged outputs from the outbox");
    }
    true
}

/// Produces outputs until the broker acknowledged all of them, retrying while it refuses. The
/// doubling pause is written out rather than taken from a retry crate (backon): the loop also
/// watches the shutdown token, which a generic combinator would only wrap.
async fn publish_acknowledged(
    run: &Run,
    outgoing: &[Outgoing],
    token: &tokio_util::sync::CancellationToken,
) -> bool {
    let mut wait = Duration::from_millis(200);
    loop {
        let sends = outgoing.iter().map(|o| send(run, &o.output));
        let results = futures::future::join_all(sends).await;
        let Some(error) = results.into_iter().find_map(Result::err) else {
            return true;
        };
        tracing::warn!(error = %Report(&error), "outputs not acknowledged; retrying");
        tokio::select! {
            _ = token.cancelled() => return false,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// Produces outputs and commits `offsets` in one transaction; an aborted transaction is tried
/// again in a new one, a fatal failure stops the processor.
async fn publish_in_transaction(
    run: &Run,
    txn: &TransactionalProducer,
    handle: &ConsumerHandle,
    outgoing: &[Outgoing],
    offsets: &[NextOffset],
    token: &tokio_util::sync::CancellationToken,
) -> bool {
    // After a fatal error the producer is not used again.
    if run.shutdown.failed() {
        return false;
    }
    let mut records = Vec::with_capacity(outgoing.len());
    for o in outgoing {
        match encode(run, &o.output).await {
            Ok((topic, key, payload)) => records.push(TxnRecord {
                topic: topic.clone(),
                key: key.into_bytes(),
                payload,
            }),
            Err(e) => {
                tracing::error!(error = %Report(&e), "an output does not encode; the processor stops");
                run.shutdown.fail();
                return false;
            }
        }
    }
    let mut wait = Duration::from_millis(200);
    loop {
        let group = handle.group_metadata();
        let result = match group {
            None if !offsets.is_empty() => {
                tracing::warn!("no consumer group metadata yet; the transaction waits");
                None
            }
            group => Some(
                txn.commit_batch(&records, group.map(|g| (offsets.to_vec(), g)))
                    .await,
            ),
        };
        match result {
            Some(Ok(())) => {
                run.metrics.transaction(Transaction::Committed, None);
                return true;
            }
            Some(Err(TxnError::Aborted(e))) => {
                run.metrics.transaction(Transaction::Aborted, Some(&e));
            }
            Some(Err(TxnError::Fatal(e))) => {
                run.metrics.transaction(Transaction::Failed, Some(&e));
                run.shutdown.fail();
                return false;
            }
            None => {}
        }
        tokio::select! {
            _ = token.cancelled() => return false,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// Topic, key and bytes of an output.
async fn encode<'a>(
    run: &'a Run,
    output: &Output,
) -> Result<(&'a String, String, Vec<u8>), OutputError> {
    Ok(match output {
        Output::Verdict { verdict, .. } => (
            &run.verdicts_topic,
            keys::verdict_key(&verdict.org_id, &verdict.call_id, &verdict.leg_id),
            run.codec
                .encode_for(&run.verdicts_topic, verdict.as_ref())
                .await?,
        ),
        Output::Alert(alert) => (
            &run.alerts_topic,
            keys::alert_key(&alert.org_id, alert.scope.kind, &alert.scope.entity_id),
            run.codec
                .encode_for(&run.alerts_topic, alert.as_ref())
                .await?,
        ),
    })
}

async fn send(run: &Run, output: &Output) -> Result<(), OutputError> {
    let (topic, key, bytes) = encode(run, output).await?;
    run.producer
        .send(topic, key.as_bytes(), &bytes, &[])
        .await?;
    Ok(())
}
