//! Instructions to the subscription manager, written to the one-partition control topic keyed
//! by org; whichever replica manages applies them in order.

use crate::Connector;
use crate::connector::WriteError;
use callsight_model::types::{ControlKind, ControlMessage, GraphNotification, TenantLink};

/// The instruction could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the control message")]
pub struct ControlError(#[from] pub WriteError);

/// A random request id.
pub fn request_id() -> String {
    let mut id = [0u8; 16];
    // Without randomness the id is only less unique; it is for logs.
    let _ = getrandom::fill(&mut id);
    hex::encode(id)
}

/// Writes an instruction and waits for the broker's acknowledgement.
pub async fn send(connector: &Connector, message: &ControlMessage) -> Result<(), ControlError> {
    let topic = &connector.topics.control.name;
    connector.write(topic, &message.org_id, message).await?;
    Ok(())
}

/// An instruction of `kind` for `org`.
pub fn message(kind: ControlKind, org: &str, now_ms: i64) -> ControlMessage {
    ControlMessage {
        kind,
        org_id: org.to_string(),
        request_id: request_id(),
        link: None,
        notification: None,
        requested_at: now_ms,
    }
}

/// Asks for `link` to be made.
pub fn link(link: TenantLink, now_ms: i64) -> ControlMessage {
    ControlMessage {
        link: Some(link.clone()),
        ..message(ControlKind::Link, &link.org_id, now_ms)
    }
}

/// Hands a lifecycle notification over.
pub fn lifecycle(notification: GraphNotification, now_ms: i64) -> ControlMessage {
    ControlMessage {
        notification: Some(notification.clone()),
        ..message(ControlKind::Lifecycle, &notification.org_id, now_ms)
    }
}
