//! `callsight broker`: the embedded broker alone, with every topic of the configuration, for
//! clients in other processes (kcat, Python, a second callsight).

use crate::config::Config;
use callsight_kafka::embedded::EmbeddedBroker;
use callsight_kafka::topics;

/// Starts the embedded broker and creates every topic. Dropping the result stops the broker.
pub fn start(config: &Config) -> anyhow::Result<EmbeddedBroker> {
    let broker = EmbeddedBroker::start(config.kafka.embedded_brokers)?;
    topics::create_embedded(&broker, &topics::specs(&config.topics))?;
    Ok(broker)
}
