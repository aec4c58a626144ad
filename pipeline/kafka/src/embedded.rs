//! The embedded broker: librdkafka's mock cluster, a real Kafka protocol server on loopback,
//! running in this process. It has no admin API and no log compaction, and its transactions are
//! protocol-only, so callsight never depends on those when it runs embedded.

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::sync::mpsc;
use std::thread::JoinHandle;

enum Command {
    CreateTopic {
        name: String,
        partitions: i32,
        reply: mpsc::Sender<Result<(), KafkaError>>,
    },
    SetUp {
        up: bool,
        reply: mpsc::Sender<Result<(), KafkaError>>,
    },
    RequestErrors {
        api: RDKafkaApiKey,
        errors: Vec<RDKafkaRespErr>,
        reply: mpsc::Sender<Result<(), KafkaError>>,
    },
    Stop,
}

/// The embedded broker could not start or could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// librdkafka's mock cluster did not start.
    #[error("embedded broker: the mock cluster did not start")]
    Start(#[source] KafkaError),
    /// Its thread could not be started.
    #[error("embedded broker: cannot start its thread")]
    Thread(#[source] std::io::Error),
    /// Its thread has stopped.
    #[error("embedded broker: it has stopped")]
    Stopped,
    /// A topic could not be created.
    #[error("embedded broker: creating topic {topic}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// Why.
        #[source]
        source: KafkaError,
    },
    /// The cluster refused a command.
    #[error("embedded broker")]
    Command(#[source] KafkaError),
}

/// A running mock cluster. The cluster lives on a thread of its own (it is not `Send`); it
/// stops when this handle is dropped.
pub struct EmbeddedBroker {
    bootstrap: String,
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedBroker {
    /// Starts a mock cluster of `brokers` brokers.
    pub fn start(brokers: i32) -> Result<Self, EmbeddedError> {
        let (commands, inbox) = mpsc::channel::<Command>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, KafkaError>>();
        let thread = std::thread::Builder::new()
            .name("embedded-broker".into())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(cluster) => cluster,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                for command in inbox {
                    match command {
                        Command::CreateTopic {
                            name,
                            partitions,
                            reply,
                        } => {
                            let result = cluster.create_topic(&name, partitions, 1);
                            let _ = reply.send(result);
                        }
                        Command::SetUp { up, reply } => {
                            let result = (1..=brokers).try_for_each(|id| {
                                if up {
                                    cluster.broker_up(id)
                                } else {
                                    cluster.broker_down(id)
                                }
                            });
                            let _ = reply.send(result);
                        }
                        Command::RequestErrors { api, errors, reply } => {
                            cluster.request_errors(api, &errors);
                            let _ = reply.send(Ok(()));
                        }
                        Command::Stop => break,
                    }
                }
            })
            .map_err(EmbeddedError::Thread)?;
        let bootstrap = ready_rx
            .recv()
            .map_err(|_| EmbeddedError::Stopped)?
            .map_err(EmbeddedError::Start)?;
        Ok(EmbeddedBroker {
            bootstrap,
            commands,
            thread: Some(thread),
        })
    }

    /// The `bootstrap.servers` of the cluster, e.g. `127.0.0.1:40123`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates a topic with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), EmbeddedError> {
        self.call(|reply| Command::CreateTopic {
            name: name.to_string(),
            partitions,
            reply,
        })
        .map_err(|e| match e {
            EmbeddedError::Command(source) => EmbeddedError::CreateTopic {
                topic: name.to_string(),
                source,
            },
            other => other,
        })
    }

    /// Takes every broker down (connections dropped and refused) or brings them back: an outage
    /// to rehearse, in tests and demonstrations. Records already acknowledged are kept.
    pub fn set_up(&self, up: bool) -> Result<(), EmbeddedError> {
        self.call(|reply| Command::SetUp { up, reply })
    }

    /// Makes the next requests of kind `api` fail, one per error given, in order: faults to
    /// rehearse (for example a transaction's `EndTxn` refused).
    pub fn fail_requests(
        &self,
        api: RDKafkaApiKey,
        errors: &[RDKafkaRespErr],
    ) -> Result<(), EmbeddedError> {
        self.call(|reply| Command::RequestErrors {
            api,
            errors: errors.to_vec(),
            reply,
        })
    }

    /// Sends a command to the cluster's thread and waits for its answer.
    fn call(
        &self,
        command: impl FnOnce(mpsc::Sender<Result<(), KafkaError>>) -> Command,
    ) -> Result<(), EmbeddedError> {
        let (reply, answer) = mpsc::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| EmbeddedError::Stopped)?;
        answer
            .recv()
            .map_err(|_| EmbeddedError::Stopped)?
            .map_err(EmbeddedError::Command)
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
