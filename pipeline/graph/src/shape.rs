//! What a saved Graph body is, from its shape: a call record, a page of its sessions, a list of
//! call records, or something else. For commands that take files from people, so that a wrong
//! file gets an answer saying what it is and what to pass instead of a parser's complaint.

use serde_json::Value;

/// The kind of a saved Graph body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One call record (`GET /communications/callRecords/{id}`), with sessions or without.
    CallRecord,
    /// A page of a call record's sessions (`GET .../callRecords/{id}/sessions`, or a body of
    /// `sessions@odata.nextLink`).
    SessionPage,
    /// A list of call records (`GET /communications/callRecords`).
    CallRecordList,
    /// A `{"value": [...]}` of something else, or an empty one.
    OtherList,
    /// Anything else; says what is missing.
    Other(String),
}

fn looks_like_session(item: &Value) -> bool {
    item.get("caller").is_some() || item.get("callee").is_some() || item.get("segments").is_some()
}

fn looks_like_call_record(item: &Value) -> bool {
    item.get("id").is_some()
        && (item.get("sessions").is_some()
            || item.get("organizer").is_some()
            || item.get("organizer_v2").is_some()
            || item.get("participants").is_some()
            || (item.get("type").is_some() && item.get("modalities").is_some()))
}

/// The shape of `body`.
pub fn of(body: &Value) -> Shape {
    let Some(object) = body.as_object() else {
        return Shape::Other("not a JSON object".into());
    };
    if let Some(items) = object.get("value").and_then(Value::as_array) {
        return match items.first() {
            Some(first) if items.iter().all(looks_like_session) && looks_like_session(first) => {
                Shape::SessionPage
            }
            Some(first) if looks_like_call_record(first) => Shape::CallRecordList,
            _ => Shape::OtherList,
        };
    }
    if looks_like_call_record(body)
        || (object.contains_key("id") && object.contains_key("startDateTime"))
    {
        return Shape::CallRecord;
    }
    if looks_like_session(body) {
        return Shape::Other("one session, not a call record".into());
    }
    Shape::Other(if object.contains_key("id") {
        "no sessions, organizer, participants or start time".into()
    } else {
        "no id".into()
    })
}

impl Shape {
    /// What the shape is, in words.
    pub fn words(&self) -> String {
        match self {
            Shape::CallRecord => "a call record".into(),
            Shape::SessionPage => "a page of a call record's sessions".into(),
            Shape::CallRecordList => "a list of call records".into(),
            Shape::OtherList => "a list whose items are neither sessions nor call records".into(),
            Shape::Other(why) => format!("not a call record ({why})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_are_told_apart() {
        assert_eq!(
            of(&json!({"id": "c", "startDateTime": "2026-01-01T00:00:00Z"})),
            Shape::CallRecord
        );
        assert_eq!(
            of(&json!({"value": [{"id": "s", "caller": {}, "callee": {}}]})),
            Shape::SessionPage
        );
        assert_eq!(
            of(&json!({"value": [{"id": "c", "type": "peerToPeer", "modalities": []}]})),
            Shape::CallRecordList
        );
        assert_eq!(of(&json!({"value": [{"x": 1}]})), Shape::OtherList);
        assert_eq!(of(&json!({"value": []})), Shape::OtherList);
        assert!(matches!(of(&json!({"x": 1})), Shape::Other(_)));
        assert!(matches!(of(&json!([1])), Shape::Other(_)));
    }
}
