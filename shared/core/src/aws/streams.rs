//! The table's stream, as the archiver reads it: the records of newly
//! published segment events (the event source mapping filters on the same,
//! and this reads defensively). Locally, the dev server and the tests read
//! moto's stream and hand the archiver the same [`NewEvent`]s.

use aws_lambda_events::event::dynamodb::Event;
use serde_json::Value;

/// A published event the archiver has to keep: where its record is, and
/// the stream's sequence number (what a failure reports back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub sequence: String,
    pub bt_id: String,
    pub event_id: String,
}

/// The event a record's keys and kind name, when it is a new segment event.
pub fn new_event(sequence: &str, inserted: bool, pk: &str, sk: &str, kind: Option<&str>) -> Option<NewEvent> {
    let bt_id = pk.strip_prefix("STREAM#")?;
    let event_id = sk.strip_prefix("EVENT#")?;
    (inserted && kind == Some("segment")).then(|| NewEvent {
        sequence: sequence.to_owned(),
        bt_id: bt_id.to_owned(),
        event_id: event_id.to_owned(),
    })
}

/// A text attribute of a stream image, as Lambda hands it over
/// (`{"S": "..."}` in DynamoDB's JSON).
fn text(image: &Value, name: &str) -> Option<String> {
    image.get(name)?.get("S")?.as_str().map(str::to_owned)
}

/// The new segment events of a batch Lambda delivers.
pub fn new_events(event: &Event) -> Vec<NewEvent> {
    event
        .records
        .iter()
        .filter_map(|record| {
            let image = serde_json::to_value(&record.change.new_image).ok()?;
            let keys = serde_json::to_value(&record.change.keys).ok()?;
            new_event(
                record.change.sequence_number.as_deref().unwrap_or_default(),
                record.event_name == "INSERT",
                &text(&keys, "pk")?,
                &text(&keys, "sk")?,
                text(&image, "kind").as_deref(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inserted_segment_event_records_are_new_events() {
        let batch: Event = serde_json::from_value(serde_json::json!({"Records": [
            {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
             "dynamodb": {"Keys": {"pk": {"S": "STREAM#room 1"}, "sk": {"S": "EVENT#deepcleer:r_3"}},
                          "NewImage": {"pk": {"S": "STREAM#room 1"}, "sk": {"S": "EVENT#deepcleer:r_3"}, "kind": {"S": "segment"}},
                          "SequenceNumber": "100", "StreamViewType": "NEW_IMAGE", "SizeBytes": 10}},
            {"eventID": "2", "eventName": "MODIFY", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
             "dynamodb": {"Keys": {"pk": {"S": "STREAM#room 1"}, "sk": {"S": "EVENT#deepcleer:r_3"}},
                          "NewImage": {"kind": {"S": "segment"}}, "SequenceNumber": "101", "StreamViewType": "NEW_IMAGE", "SizeBytes": 10}},
            {"eventID": "3", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
             "dynamodb": {"Keys": {"pk": {"S": "STREAM#room 1"}, "sk": {"S": "EVENT#deepcleer:r:end"}},
                          "NewImage": {"kind": {"S": "streamEnd"}}, "SequenceNumber": "102", "StreamViewType": "NEW_IMAGE", "SizeBytes": 10}},
            {"eventID": "4", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
             "dynamodb": {"Keys": {"pk": {"S": "STREAM#room 1"}, "sk": {"S": "TASK"}},
                          "NewImage": {"kind": {"S": "segment"}}, "SequenceNumber": "103", "StreamViewType": "NEW_IMAGE", "SizeBytes": 10}}
        ]}))
        .unwrap();
        assert_eq!(
            new_events(&batch),
            [NewEvent {
                sequence: "100".into(),
                bt_id: "room 1".into(),
                event_id: "deepcleer:r_3".into(),
            }]
        );
    }
}
