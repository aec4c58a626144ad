//! Reading and checking a Graph notification delivery (`{"value": [changeNotification, ...]}`).
//!
//! Each notification must name a tenant linked here, the subscription that tenant's link holds,
//! and carry the `clientState` derived for that tenant from the master key; change
//! notifications must name the call record. Lifecycle notifications (`lifecycleEvent`) carry
//! no resource.

use callsight_graph::privacy::MasterKey;
use callsight_model::lenient::parse_timestamp_ms;
use callsight_model::types::{
    GraphChangeType, GraphNotification, LifecycleEvent, LinkState, NotificationOrigin,
};
use serde_json::Value;

use crate::link::store::LinkStore;

/// `{"value": [...]}` with at most `max` items: the count is checked while parsing, so an
/// oversized delivery is refused before its items are held.
struct Delivery {
    value: Vec<Value>,
}

/// The seed that parses a [`Delivery`] of at most `max` items.
struct Bounded {
    max: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for Bounded {
    type Value = Delivery;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Delivery, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Bounded {
    type Value = Delivery;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "an object with \"value\": at most {} notifications",
            self.max
        )
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Delivery, A::Error> {
        let mut value = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "value" && value.is_none() {
                value = Some(map.next_value_seed(Items { max: self.max })?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        let value = value.ok_or_else(|| serde::de::Error::missing_field("value"))?;
        Ok(Delivery { value })
    }
}

/// The `value` array, at most `max` items.
struct Items {
    max: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for Items {
    type Value = Vec<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Items {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "at most {} notifications", self.max)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            if items.len() == self.max {
                return Err(serde::de::Error::custom(format!(
                    "more than {} notifications in one delivery",
                    self.max
                )));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// A delivery that is unusable as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Not JSON, not `{"value": [...]}`, or more notifications than allowed.
    #[error("not a notification collection: {0}")]
    Malformed(String),
}

/// Why one notification is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A field is missing or of the wrong type.
    Malformed,
    /// No link for the tenant.
    UnknownTenant,
    /// The tenant's link holds another subscription.
    UnknownSubscription,
    /// `clientState` is not the tenant's.
    BadClientState,
}

impl Refusal {
    /// The `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::UnknownTenant => "unknown_tenant",
            Refusal::UnknownSubscription => "unknown_subscription",
            Refusal::BadClientState => "bad_client_state",
        }
    }

    /// The reason given to the sender: `malformed`, else `not_verified` for all three of an
    /// unlinked tenant, a wrong `clientState` and an unknown subscription, so that an answer does
    /// not tell which tenants are linked here.
    pub fn answer(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::UnknownTenant | Refusal::UnknownSubscription | Refusal::BadClientState => {
                "not_verified"
            }
        }
    }
}

/// One notification of a delivery, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// A valid change or lifecycle notification.
    Valid(GraphNotification),
    /// Refused, with its position in the delivery.
    Refused {
        /// Position in `value`.
        index: usize,
        /// Why.
        refusal: Refusal,
    },
}

fn text<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn change_type(text: &str) -> GraphChangeType {
    match text {
        "created" => GraphChangeType::Created,
        "updated" => GraphChangeType::Updated,
        _ => GraphChangeType::Unknown,
    }
}

fn lifecycle_event(text: &str) -> LifecycleEvent {
    match text {
        "reauthorizationRequired" => LifecycleEvent::ReauthorizationRequired,
        "subscriptionRemoved" => LifecycleEvent::SubscriptionRemoved,
        "missed" => LifecycleEvent::Missed,
        _ => LifecycleEvent::Unknown,
    }
}

/// The call id of a change notification: `resourceData.id`, else the last segment of
/// `resource` (`communications/callRecords/{id}`). Call record ids are GUIDs; anything else
/// (`../../organization`) is refused, since the id becomes part of a Graph URL. The id is
/// given back in the lower-case hyphenated form Graph uses.
fn call_id(item: &Value) -> Option<String> {
    let guid = |id: &str| {
        uuid::Uuid::try_parse(id)
            .ok()
            .map(|u| u.hyphenated().to_string())
    };
    if let Some(id) = item
        .get("resourceData")
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return guid(id);
    }
    let resource = text(item, "resource")?;
    let (prefix, id) = resource.trim_start_matches('/').rsplit_once('/')?;
    if !prefix.eq_ignore_ascii_case("communications/callRecords") {
        return None;
    }
    guid(id.trim_matches(|c| c == '\'' || c == '(' || c == ')'))
}

/// Parses a delivery of at most `max` notifications and checks each.
pub fn check(
    body: &[u8],
    max: usize,
    links: &LinkStore,
    master: Option<&MasterKey>,
    received_at: i64,
) -> Result<Vec<Checked>, DeliveryError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let delivery = serde::de::DeserializeSeed::deserialize(Bounded { max }, &mut de)
        .and_then(|d| de.end().map(|()| d))
        .map_err(|e| DeliveryError::Malformed(e.to_string()))?;
    Ok(delivery
        .value
        .iter()
        .enumerate()
        .map(
            |(index, item)| match check_one(item, links, master, received_at) {
                Ok(n) => Checked::Valid(n),
                Err(refusal) => Checked::Refused { index, refusal },
            },
        )
        .collect())
}

fn check_one(
    item: &Value,
    links: &LinkStore,
    master: Option<&MasterKey>,
    received_at: i64,
) -> Result<GraphNotification, Refusal> {
    let tenant = text(item, "tenantId").ok_or(Refusal::Malformed)?;
    let subscription = text(item, "subscriptionId").ok_or(Refusal::Malformed)?;
    let lifecycle = text(item, "lifecycleEvent").map(lifecycle_event);
    let (change, call) = match lifecycle {
        Some(_) => (None, None),
        None => {
            let change = text(item, "changeType").ok_or(Refusal::Malformed)?;
            let call = call_id(item).ok_or(Refusal::Malformed)?;
            (Some(change_type(change)), Some(call))
        }
    };
    let link = links.by_tenant(tenant).ok_or(Refusal::UnknownTenant)?;
    let master = master.ok_or(Refusal::BadClientState)?;
    let expected = master.client_state(tenant);
    let given = text(item, "clientState").unwrap_or_default();
    // An HMAC in hex: compared in constant time.
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        given.as_bytes(),
        expected.as_bytes(),
    )) {
        return Err(Refusal::BadClientState);
    }
    let known = link
        .subscription_id
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case(subscription));
    if !known || link.state == LinkState::Unlinked {
        return Err(Refusal::UnknownSubscription);
    }
    Ok(GraphNotification {
        org_id: link.org_id,
        tenant_id: link.tenant_id,
        subscription_id: subscription.to_string(),
        origin: NotificationOrigin::Webhook,
        change_type: change,
        lifecycle_event: lifecycle,
        call_id: call,
        resource: text(item, "resource").map(str::to_string),
        subscription_expires_at: text(item, "subscriptionExpirationDateTime")
            .and_then(parse_timestamp_ms),
        received_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_testkit::samples;
    use serde_json::json;

    fn setup() -> (std::sync::Arc<LinkStore>, MasterKey, String, String) {
        let master = MasterKey::from_hex(&"11".repeat(32)).expect("key");
        let store = LinkStore::new(None);
        let link = samples::tenant_link();
        store.apply(link.clone());
        (
            store,
            master,
            link.tenant_id,
            link.subscription_id.expect("subscription"),
        )
    }

    #[test]
    fn valid_change_and_lifecycle_notifications_and_each_refusal() {
        let (store, master, tenant, sub) = setup();
        let state = master.client_state(&tenant);
        let change = json!({
            "subscriptionId": sub, "clientState": state, "changeType": "created",
            "resource": "communications/callRecords/2f1a1100-b174-40a0-aba7-0b405e01ed92",
            "subscriptionExpirationDateTime": "2026-11-30T10:00:00.0000000Z", "tenantId": tenant,
            "resourceData": {"@odata.type": "#Microsoft.Graph.callrecord",
                "@odata.id": "communications/callRecords/2f1a1100-b174-40a0-aba7-0b405e01ed92",
                "id": "2f1a1100-b174-40a0-aba7-0b405e01ed92"}
        });
        let lifecycle = json!({"subscriptionId": sub, "clientState": state, "tenantId": tenant,
            "lifecycleEvent": "reauthorizationRequired",
            "subscriptionExpirationDateTime": "2026-11-30T10:00:00Z"});
        let mut wrong_state = change.clone();
        wrong_state["clientState"] = json!("0".repeat(64));
        let mut other_sub = change.clone();
        other_sub["subscriptionId"] = json!("00000000-0000-0000-0000-000000000000");
        let mut other_tenant = change.clone();
        other_tenant["tenantId"] = json!("99999999-0000-0000-0000-000000000000");
        let mut no_id = change.clone();
        no_id
            .as_object_mut()
            .expect("object")
            .remove("resourceData");
        no_id["resource"] = json!("communications/callRecords");
        // An id that is not a GUID would become part of the fetcher's Graph URL.
        let mut traversal = change.clone();
        traversal["resourceData"]["id"] = json!("../../organization");
        let mut traversal_resource = no_id.clone();
        traversal_resource["resource"] = json!("communications/callRecords/../../organization");
        let body = json!({"value": [change, lifecycle, wrong_state, other_sub, other_tenant, no_id,
            traversal, traversal_resource]});
        let checked =
            check(body.to_string().as_bytes(), 100, &store, Some(&master), 5).expect("parses");
        let Checked::Valid(n) = &checked[0] else {
            panic!("{:?}", checked[0])
        };
        assert_eq!(
            n.call_id.as_deref(),
            Some("2f1a1100-b174-40a0-aba7-0b405e01ed92")
        );
        assert_eq!(n.change_type, Some(GraphChangeType::Created));
        assert_eq!(n.subscription_expires_at, Some(1_796_032_800_000));
        assert_eq!(n.received_at, 5);
        let Checked::Valid(l) = &checked[1] else {
            panic!("{:?}", checked[1])
        };
        assert_eq!(
            l.lifecycle_event,
            Some(LifecycleEvent::ReauthorizationRequired)
        );
        assert_eq!(l.call_id, None);
        let refusals: Vec<_> = checked[2..]
            .iter()
            .map(|c| match c {
                Checked::Refused { refusal, .. } => *refusal,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            refusals,
            [
                Refusal::BadClientState,
                Refusal::UnknownSubscription,
                Refusal::UnknownTenant,
                Refusal::Malformed,
                Refusal::Malformed,
                Refusal::Malformed
            ]
        );
        assert!(check(b"{", 100, &store, Some(&master), 0).is_err());
        assert!(check(b"{\"value\": 3}", 100, &store, Some(&master), 0).is_err());
        assert!(check(b"{\"other\": 1}", 100, &store, Some(&master), 0).is_err());
        assert!(check(b"{\"value\": []} x", 100, &store, Some(&master), 0).is_err());
        // The bound is checked while parsing, before the items are held.
        let three = b"{\"value\": [0, 0, 0]}";
        assert_eq!(
            check(three, 3, &store, Some(&master), 0).map(|c| c.len()),
            Ok(3)
        );
        let Err(DeliveryError::Malformed(why)) = check(three, 2, &store, Some(&master), 0) else {
            panic!("more than the bound was taken")
        };
        assert!(why.contains("more than 2 notifications"), "{why}");
    }
}
