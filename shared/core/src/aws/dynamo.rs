//! The task table on DynamoDB. One table, under `pk = STREAM#<btId>`:
//!
//! | item | `sk` | what |
//! |---|---|---|
//! | the btId's current task | `TASK` | the task's attributes (below) |
//! | an earlier task of the btId | `TASK#<taskId>` | the same, moved there when a newer start replaced it |
//! | a stray provider task | `STRAY#<provider>#<providerTaskId>` | `btId`, `taskId`, `provider`, `providerTaskId`, `recordedAt`, `stopAttempts`, `stoppedAt` |
//! | a published event | `EVENT#<eventId>` | `eventId`, `ofRequestId`, `kind`, `riskLevel`, `publishedAt`, `ttl` (epoch s) |
//!
//! and, under `pk = PTASK#<provider>#<providerTaskId>`, `sk = OWNER`, the
//! provider task's owner (`btId`, `taskId`, `ttl`): which task may act on it.
//!
//! Task attributes: `taskId`, `provider`, `status`, `requestId`,
//! `providerTaskIds`, `adoptedDuplicate`, `reportsEverySegment`,
//! `reportsStreamEnd`, times (RFC 3339), `startingExpiresAtMs`,
//! `startAttempts`, `closeReason`, `closeAttempts`, `closeError`, `endCode`,
//! `endReason`, `streamTime`, `failure`, `segmentsSeen`, `version` (every
//! write adds one, so a replacement can be conditional on what was read),
//! `previousTaskId` (the task a claim replaced), and `ttl` once ENDED or
//! FAILED. A task is found by id at `TASK` (when current) or else at
//! `TASK#<taskId>`; every transition is one conditional update on it.
//!
//! Two global secondary indexes:
//! - `byRequestId` (`requestId`, keys only): a task by its provider task id;
//!   keys only, so updates that leave `requestId` alone cost no index write.
//! - `byOpen` (`openShard`, `createdAt`; all attributes): the open tasks and
//!   unstopped strays, for the watchdog and the listing. Sparse: `openShard`
//!   (`OPEN#0`…`OPEN#15`, by task id) is set while a record is open and
//!   removed when it ends, so finished tasks cost the index nothing. The
//!   shards spread the index's writes over partitions, which a single
//!   key would concentrate on one.
//!
//! Records expire through DynamoDB TTL on `ttl`; deduplication never
//! depends on the deletion happening on time.

use crate::domain::ProviderId;
use crate::domain::task::{
    Evidence, EvidenceObject, EvidenceState, Open, Owner, Page, Published, Reports, Stray, StreamEnd, Task, TaskStatus,
    end_reason,
};
use crate::ports::{Claim, OpenFilter, Ownership, Progress, StoreError, TaskStore};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Name of the index on `requestId`.
pub const REQUEST_ID_INDEX: &str = "byRequestId";
/// Name of the index of each btId's published events by time (history).
pub const EVENTS_INDEX: &str = "byPublished";
/// Name of the sparse index of open records.
pub const OPEN_INDEX: &str = "byOpen";
/// Partitions of the open index.
pub const OPEN_SHARDS: u8 = 16;
/// The current task's sort key.
const CURRENT: &str = "TASK";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn time_text(at: OffsetDateTime) -> AttributeValue {
    s(at.format(&Rfc3339).unwrap_or_default())
}

fn millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

fn archived(task_id: &str) -> String {
    format!("TASK#{task_id}")
}

fn stray_key(provider: ProviderId, provider_task_id: &str) -> String {
    format!("STRAY#{provider}#{provider_task_id}")
}

/// The open index's partition for a record id.
fn open_shard(id: &str) -> String {
    format!("OPEN#{}", Sha256::digest(id.as_bytes())[0] % OPEN_SHARDS)
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

/// Whether a write failed only because its condition did not hold.
fn condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(service) if service.err().code() == Some("ConditionalCheckFailedException"))
}

/// Whether a transaction was cancelled (a condition did not hold, or a race).
fn cancelled<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(service) if service.err().code() == Some("TransactionCanceledException"))
}

fn task_item(task: &Task, sort: &str) -> Item {
    let mut item = DynamoStore::key(&task.bt_id, sort);
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    put("entity", s("task"));
    put("btId", s(&task.bt_id));
    put("taskId", s(&task.task_id));
    put("provider", s(task.provider.as_str()));
    put("status", s(task.status.as_str()));
    put("adoptedDuplicate", AttributeValue::Bool(task.adopted_duplicate));
    put("reportsEverySegment", AttributeValue::Bool(task.reports_every_segment));
    put("reportsStreamEnd", AttributeValue::Bool(task.reports_stream_end));
    put("createdAt", time_text(task.created_at));
    put("updatedAt", time_text(task.updated_at));
    put("startAttempts", n(task.start_attempts));
    put("closeAttempts", n(task.close_attempts));
    put("segmentsSeen", n(task.segments_seen));
    put("version", n(1));
    if !task.provider_task_ids.is_empty() {
        put(
            "providerTaskIds",
            AttributeValue::L(task.provider_task_ids.iter().map(s).collect()),
        );
    }
    if task.status.is_open() {
        put("openShard", s(open_shard(&task.task_id)));
    }
    if let Some(request_id) = &task.request_id {
        put("requestId", s(request_id));
    }
    if let Some(expiry) = task.starting_expires_at {
        put("startingExpiresAtMs", n(millis(expiry)));
        put("startingExpiresAt", time_text(expiry));
    }
    for (name, at) in [
        ("activeAt", task.active_at),
        ("closeRequestedAt", task.close_requested_at),
        ("closedAt", task.closed_at),
        ("endedAt", task.ended_at),
        ("progressAt", task.progress_at),
        ("staleNotifiedAt", task.stale_notified_at),
    ] {
        if let Some(at) = at {
            put(name, time_text(at));
        }
    }
    for (name, text) in [
        ("closeReason", &task.close_reason),
        ("closeError", &task.close_error),
        ("endReason", &task.end_reason),
        ("failure", &task.failure),
    ] {
        if let Some(text) = text {
            put(name, s(text));
        }
    }
    if let Some(code) = task.end_code {
        put("endCode", n(code));
    }
    if let Some(seconds) = task.stream_time {
        put("streamTime", n(seconds));
    }
    item
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|value| value.as_s().ok()).cloned()
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|value| value.parse::<i64>().ok())
}

fn flag(item: &Item, name: &str) -> Option<bool> {
    item.get(name).and_then(|value| value.as_bool().ok()).copied()
}

fn at(item: &Item, name: &str) -> Option<OffsetDateTime> {
    text(item, name).and_then(|value| OffsetDateTime::parse(&value, &Rfc3339).ok())
}

fn provider(item: &Item) -> Result<ProviderId, StoreError> {
    let name = text(item, "provider").ok_or_else(|| StoreError::Unreadable("a record without provider".into()))?;
    ProviderId::parse(&name).map_err(|unknown| StoreError::Unreadable(unknown.to_string()))
}

fn parse_task(item: &Item) -> Result<Task, StoreError> {
    let missing = |name: &str| StoreError::Unreadable(format!("a task record without {name}"));
    let status_text = text(item, "status").ok_or_else(|| missing("status"))?;
    Ok(Task {
        bt_id: text(item, "btId").ok_or_else(|| missing("btId"))?,
        task_id: text(item, "taskId").ok_or_else(|| missing("taskId"))?,
        provider: provider(item)?,
        status: TaskStatus::parse(&status_text)
            .ok_or_else(|| StoreError::Unreadable(format!("a task record with status {status_text:?}")))?,
        request_id: text(item, "requestId"),
        provider_task_ids: item
            .get("providerTaskIds")
            .and_then(|value| value.as_l().ok())
            .map(|ids| ids.iter().filter_map(|id| id.as_s().ok().cloned()).collect())
            .unwrap_or_else(|| text(item, "requestId").into_iter().collect()),
        adopted_duplicate: flag(item, "adoptedDuplicate").unwrap_or(false),
        reports_every_segment: flag(item, "reportsEverySegment").unwrap_or(false),
        reports_stream_end: flag(item, "reportsStreamEnd").unwrap_or(true),
        created_at: at(item, "createdAt").ok_or_else(|| missing("createdAt"))?,
        updated_at: at(item, "updatedAt").ok_or_else(|| missing("updatedAt"))?,
        starting_expires_at: at(item, "startingExpiresAt"),
        start_attempts: number(item, "startAttempts").unwrap_or(1) as u32,
        active_at: at(item, "activeAt"),
        close_requested_at: at(item, "closeRequestedAt").or_else(|| at(item, "closingAt")),
        close_reason: text(item, "closeReason"),
        close_attempts: number(item, "closeAttempts").unwrap_or(0) as u32,
        close_error: text(item, "closeError"),
        closed_at: at(item, "closedAt").or_else(|| at(item, "closingAt")),
        ended_at: at(item, "endedAt"),
        end_code: number(item, "endCode"),
        end_reason: text(item, "endReason"),
        stream_time: number(item, "streamTime"),
        failure: text(item, "failure"),
        segments_seen: number(item, "segmentsSeen").unwrap_or(0) as u64,
        progress_at: at(item, "progressAt"),
        stale_notified_at: at(item, "staleNotifiedAt"),
    })
}

fn stray_item(stray: &Stray) -> Item {
    let mut item = DynamoStore::key(&stray.bt_id, &stray_key(stray.provider, &stray.provider_task_id));
    item.insert("entity".into(), s("stray"));
    item.insert("btId".into(), s(&stray.bt_id));
    item.insert("taskId".into(), s(&stray.task_id));
    item.insert("provider".into(), s(stray.provider.as_str()));
    item.insert("providerTaskId".into(), s(&stray.provider_task_id));
    item.insert("recordedAt".into(), time_text(stray.recorded_at));
    item.insert("createdAt".into(), time_text(stray.recorded_at));
    item.insert("stopAttempts".into(), n(stray.stop_attempts));
    match stray.stopped_at {
        Some(stopped) => {
            item.insert("stoppedAt".into(), time_text(stopped));
        }
        None => {
            item.insert("openShard".into(), s(open_shard(&stray.provider_task_id)));
        }
    }
    item
}

fn parse_stray(item: &Item) -> Result<Stray, StoreError> {
    let missing = |name: &str| StoreError::Unreadable(format!("a stray record without {name}"));
    Ok(Stray {
        bt_id: text(item, "btId").ok_or_else(|| missing("btId"))?,
        task_id: text(item, "taskId").ok_or_else(|| missing("taskId"))?,
        provider: provider(item)?,
        provider_task_id: text(item, "providerTaskId").ok_or_else(|| missing("providerTaskId"))?,
        recorded_at: at(item, "recordedAt").ok_or_else(|| missing("recordedAt"))?,
        stopped_at: at(item, "stoppedAt"),
        stop_attempts: number(item, "stopAttempts").unwrap_or(0) as u32,
    })
}

fn parse_open(item: &Item) -> Result<Open, StoreError> {
    match text(item, "entity").as_deref() {
        Some("stray") => parse_stray(item).map(Open::Stray),
        _ => parse_task(item).map(|task| Open::Task(Box::new(task))),
    }
}

/// Attributes whose names DynamoDB reserves, as expressions must spell them.
const RESERVED: [(&str, &str); 2] = [("#status", "status"), ("#ttl", "ttl")];

/// The expression attribute names `expressions` use (DynamoDB refuses a name
/// that none uses).
fn reserved_names(expressions: &[&str]) -> Option<HashMap<String, String>> {
    let names: HashMap<String, String> = RESERVED
        .iter()
        .filter(|(placeholder, _)| expressions.iter().any(|expression| expression.contains(placeholder)))
        .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
        .collect();
    (!names.is_empty()).then_some(names)
}

/// One conditional change of a task: `set` (after `SET`), `remove` (after
/// `REMOVE`), under `condition` (on the task's own attributes).
struct Change {
    set: String,
    remove: Vec<&'static str>,
    condition: String,
    values: Vec<(String, AttributeValue)>,
}

impl Change {
    fn new(set: impl Into<String>, condition: impl Into<String>) -> Self {
        Change {
            set: set.into(),
            remove: Vec::new(),
            condition: condition.into(),
            values: Vec::new(),
        }
    }

    fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.push((name.to_owned(), value));
        self
    }

    fn remove(mut self, names: &[&'static str]) -> Self {
        self.remove.extend_from_slice(names);
        self
    }

    /// `#status IN (…)` for `statuses` (CLOSED also as stored before: CLOSING).
    fn status_in(mut self, statuses: &[TaskStatus]) -> Self {
        let mut names = Vec::new();
        for (index, status) in statuses.iter().enumerate() {
            names.push(format!(":allowed{index}"));
            self.values.push((format!(":allowed{index}"), s(status.as_str())));
        }
        if statuses.contains(&TaskStatus::Closed) {
            names.push(":legacyClosing".into());
            self.values.push((":legacyClosing".into(), s("CLOSING")));
        }
        let clause = format!("#status IN ({})", names.join(", "));
        self.condition = if self.condition.is_empty() {
            clause
        } else {
            format!("({clause}) AND ({})", self.condition)
        };
        self
    }
}

/// What a conditional change of a task did.
enum Changed {
    /// The task as changed.
    Done(Task),
    /// The condition did not hold: the task as it is, when found.
    Refused(Option<Task>),
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Opens the connection (TCP and TLS) during init, so that the first
    /// invocation does not pay for it: one GetItem on a key no task uses, an
    /// action every function's role allows. A failure (no such table, no
    /// permission) is logged, not fatal: the first request reports it.
    pub async fn warm_up(&self) {
        let outcome = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key("__warm-up__", CURRENT)))
            .send()
            .await;
        if let Err(error) = outcome {
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(error), "table warm-up failed");
        }
    }

    fn key(bt_id: &str, sort: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), s(format!("STREAM#{bt_id}"))),
            ("sk".to_owned(), s(sort)),
        ])
    }

    async fn item(&self, bt_id: &str, sort: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(bt_id, sort)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Applies `change` to the task `task_id` of `bt_id`, wherever it is kept.
    async fn change(&self, bt_id: &str, task_id: &str, change: Change) -> Result<Changed, StoreError> {
        let expression = {
            let mut expression = format!(
                "SET {}{}version = if_not_exists(version, :zero) + :one",
                change.set,
                if change.set.is_empty() { "" } else { ", " }
            );
            if !change.remove.is_empty() {
                expression.push_str(" REMOVE ");
                expression.push_str(&change.remove.join(", "));
            }
            expression
        };
        let attempt = |sort: String, place: &'static str| {
            let condition = if change.condition.is_empty() {
                place.to_owned()
            } else {
                format!("{place} AND ({})", change.condition)
            };
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(bt_id, &sort)))
                .update_expression(&expression)
                .set_expression_attribute_names(reserved_names(&[&expression, &condition]))
                .condition_expression(condition)
                .expression_attribute_values(":taskId", s(task_id))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            for (name, value) in &change.values {
                request = request.expression_attribute_values(name, value.clone());
            }
            request.send()
        };
        let refused_item = |error: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, _>| match error
        {
            SdkError::ServiceError(service) => match service.err() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(failed) => {
                    failed.item().cloned()
                }
                _ => None,
            },
            _ => None,
        };
        match attempt(CURRENT.to_owned(), "taskId = :taskId").await {
            Ok(output) => return output.attributes.as_ref().map(parse_task).transpose().map(done_or_gone),
            Err(error) if condition_failed(&error) => {
                let current = refused_item(&error);
                if current.as_ref().and_then(|item| text(item, "taskId")).as_deref() == Some(task_id) {
                    return Ok(Changed::Refused(current.as_ref().map(parse_task).transpose()?));
                }
            }
            Err(error) => return Err(unavailable(error)),
        }
        match attempt(archived(task_id), "attribute_exists(pk) AND taskId = :taskId").await {
            Ok(output) => output.attributes.as_ref().map(parse_task).transpose().map(done_or_gone),
            Err(error) if condition_failed(&error) => Ok(Changed::Refused(
                refused_item(&error).as_ref().map(parse_task).transpose()?,
            )),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn change_task(&self, task: &Task, change: Change) -> Result<Option<Task>, StoreError> {
        Ok(match self.change(&task.bt_id, &task.task_id, change).await? {
            Changed::Done(task) => Some(task),
            Changed::Refused(_) => None,
        })
    }

    /// Makes `task` current in place of the unheld `old` item, which moves to
    /// `TASK#<its id>`; `false` when `old` changed meanwhile.
    async fn replace(&self, old: &Item, task: &Task) -> Result<bool, StoreError> {
        let old_id = text(old, "taskId");
        let mut item = task_item(task, CURRENT);
        if let Some(old_id) = &old_id {
            item.insert("previousTaskId".into(), s(old_id));
        }
        let mut values = HashMap::from([(":old".to_owned(), s(old_id.clone().unwrap_or_default()))]);
        let unchanged = match old.get("version") {
            Some(version) => {
                values.insert(":version".into(), version.clone());
                "taskId = :old AND version = :version"
            }
            None => "taskId = :old AND attribute_not_exists(version)",
        };
        let put_current = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(unchanged)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        let mut writes = vec![TransactWriteItem::builder().put(put_current).build()];
        if let Some(old_id) = &old_id {
            let mut copy = old.clone();
            copy.insert("sk".into(), s(archived(old_id)));
            let put_archive = Put::builder()
                .table_name(&self.table)
                .set_item(Some(copy))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|error| StoreError::Unavailable(error.to_string()))?;
            writes.push(TransactWriteItem::builder().put(put_archive).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if cancelled(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The records of one shard of the open index, from `start`.
    async fn open_shard_page(
        &self,
        shard: u8,
        filter: OpenFilter,
        start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Open>, Option<Item>), StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_INDEX)
            .key_condition_expression("openShard = :shard")
            .expression_attribute_values(":shard", s(format!("OPEN#{shard}")))
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        match filter {
            OpenFilter::All => {}
            OpenFilter::Tasks => {
                request = request
                    .filter_expression("entity = :task")
                    .expression_attribute_values(":task", s("task"));
            }
            OpenFilter::Status(status) => {
                let mut statuses = vec![status.as_str()];
                if status == TaskStatus::Closed {
                    statuses.push("CLOSING");
                }
                let names: Vec<String> = (0..statuses.len()).map(|index| format!(":status{index}")).collect();
                request = request
                    .filter_expression(format!("entity = :task AND #status IN ({})", names.join(", ")))
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":task", s("task"));
                for (name, status) in names.iter().zip(statuses) {
                    request = request.expression_attribute_values(name, s(status));
                }
            }
        }
        let output = request.send().await.map_err(unavailable)?;
        let mut items = Vec::new();
        for item in output.items() {
            match parse_open(item) {
                Ok(open) => items.push(open),
                Err(error) => tracing::error!(%error, "an open record cannot be read; skipped"),
            }
        }
        Ok((items, output.last_evaluated_key))
    }
}

fn done_or_gone(task: Option<Task>) -> Changed {
    match task {
        Some(task) => Changed::Done(task),
        None => Changed::Refused(None),
    }
}

/// A listing's position: the shard, and where in it.
/// The text attributes of a key, for a cursor.
fn string_key(key: &Item) -> HashMap<String, String> {
    key.iter()
        .filter_map(|(name, value)| match value {
            AttributeValue::S(text) => Some((name.clone(), text.clone())),
            AttributeValue::N(number) => Some((name.clone(), format!("#{number}"))),
            _ => None,
        })
        .collect()
}

/// The history index's last key from a cursor it gave for `bt_id`.
fn read_events_cursor(cursor: &str, bt_id: &str) -> Result<Item, StoreError> {
    let unreadable = || StoreError::BadCursor(format!("{cursor:?}"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| unreadable())?;
    let key: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| unreadable())?;
    let expected = ["pk", "sk", "eventsOf", "publishedAtMs"];
    let fits = key.len() == expected.len()
        && expected
            .iter()
            .all(|name| key.get(*name).is_some_and(|value| !value.is_empty()))
        && key["eventsOf"] == bt_id
        && key["pk"] == format!("STREAM#{bt_id}")
        && key["sk"].starts_with("EVENT#")
        && key["publishedAtMs"]
            .strip_prefix('#')
            .is_some_and(|number| number.parse::<i64>().is_ok());
    if !fits {
        return Err(unreadable());
    }
    Ok(key
        .into_iter()
        .map(|(name, text)| match text.strip_prefix('#') {
            Some(number) if name == "publishedAtMs" => (name, n(number)),
            _ => (name, s(text)),
        })
        .collect())
}

/// A published event's record.
fn parse_published(item: &Item) -> Result<Published, StoreError> {
    let missing = |name: &str| StoreError::Unreadable(format!("an event record without {name}"));
    let pk = text(item, "pk").ok_or_else(|| missing("pk"))?;
    let evidence = match text(item, "evidenceState") {
        None => None,
        Some(state) => Some(Evidence {
            state: EvidenceState::parse(&state)
                .ok_or_else(|| StoreError::Unreadable(format!("an evidence state {state:?}")))?,
            objects: item
                .get("evidenceObjects")
                .and_then(|value| value.as_l().ok())
                .into_iter()
                .flatten()
                .filter_map(|object| object.as_m().ok())
                .map(|object| EvidenceObject {
                    role: text(object, "role").unwrap_or_default(),
                    key: text(object, "key").unwrap_or_default(),
                    bytes: number(object, "bytes").unwrap_or_default().max(0) as u64,
                })
                .collect(),
            failure: text(item, "evidenceFailure"),
            archived_at: at(item, "archivedAt").ok_or_else(|| missing("archivedAt"))?,
        }),
    };
    Ok(Published {
        bt_id: pk.strip_prefix("STREAM#").unwrap_or(&pk).to_owned(),
        event_id: text(item, "eventId").ok_or_else(|| missing("eventId"))?,
        request_id: text(item, "ofRequestId").unwrap_or_default(),
        kind: text(item, "kind").unwrap_or_default(),
        risk_level: text(item, "riskLevel"),
        at: at(item, "publishedAt").ok_or_else(|| missing("publishedAt"))?,
        expires_at: number(item, "ttl")
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        event: text(item, "event"),
        provider_result: text(item, "providerResult"),
        evidence,
    })
}

/// The key of a provider task's ownership record: its own partition, so
/// that it is found by the provider task's id alone, consistently.
fn owner_key(provider: ProviderId, provider_task_id: &str) -> (String, String) {
    (format!("PTASK#{provider}#{provider_task_id}"), "OWNER".to_owned())
}

fn parse_owner(item: &Item) -> Result<Owner, StoreError> {
    let field = |name: &str| {
        text(item, name).ok_or_else(|| StoreError::Unreadable(format!("an ownership record without {name}")))
    };
    let provider = field("provider")?;
    Ok(Owner {
        provider: ProviderId::parse(&provider)
            .map_err(|unknown| StoreError::Unreadable(format!("an ownership record: {unknown}")))?,
        provider_task_id: field("providerTaskId")?,
        bt_id: field("btId")?,
        task_id: field("taskId")?,
    })
}

fn cursor_text(shard: u8, key: Option<&Item>) -> String {
    let key: HashMap<String, String> = key
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| value.as_s().ok().map(|text| (name.clone(), text.clone())))
        .collect();
    let json = serde_json::json!({ "shard": shard, "key": key });
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn read_cursor(cursor: &str) -> Result<(u8, Option<Item>), StoreError> {
    let unreadable = || StoreError::BadCursor(format!("{cursor:?}"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| unreadable())?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| unreadable())?;
    let shard = json["shard"]
        .as_u64()
        .and_then(|shard| u8::try_from(shard).ok())
        .filter(|shard| *shard < OPEN_SHARDS)
        .ok_or_else(unreadable)?;
    let key: HashMap<String, String> = serde_json::from_value(json["key"].clone()).map_err(|_| unreadable())?;
    // The index's last key: the table's key and the index's, this shard's.
    let expected = ["pk", "sk", "openShard", "createdAt"];
    let fits = key.is_empty()
        || (key.len() == expected.len()
            && expected
                .iter()
                .all(|name| key.get(*name).is_some_and(|value| !value.is_empty()))
            && key["openShard"] == format!("OPEN#{shard}"));
    if !fits {
        return Err(unreadable());
    }
    let key: Item = key.into_iter().map(|(name, text)| (name, s(text))).collect();
    Ok((shard, (!key.is_empty()).then_some(key)))
}

impl DynamoStore {
    /// One try at undoing a claim: `false` when the previous task changed
    /// since it was read (the transaction was cancelled).
    async fn try_abandon(&self, task: &Task) -> Result<bool, StoreError> {
        let Some(current) = self.item(&task.bt_id, CURRENT).await? else {
            return Ok(true);
        };
        let ours = text(&current, "taskId").as_deref() == Some(task.task_id.as_str())
            && text(&current, "status").as_deref() == Some(TaskStatus::Starting.as_str());
        if !ours {
            return Ok(true);
        }
        let still_ours = "taskId = :new AND #status = :starting";
        let values = HashMap::from([
            (":new".to_owned(), s(&task.task_id)),
            (":starting".to_owned(), s(TaskStatus::Starting.as_str())),
        ]);
        let names = HashMap::from([("#status".to_owned(), "status".to_owned())]);
        let previous = match text(&current, "previousTaskId") {
            Some(previous) => self.item(&task.bt_id, &archived(&previous)).await?,
            None => None,
        };
        let Some(mut previous) = previous else {
            return self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(&task.bt_id, CURRENT)))
                .condition_expression(still_ours)
                .set_expression_attribute_values(Some(values))
                .set_expression_attribute_names(Some(names))
                .send()
                .await
                .map(|_| true)
                .or_else(|error| {
                    if condition_failed(&error) {
                        Ok(true)
                    } else {
                        Err(unavailable(error))
                    }
                });
        };
        let archive_key = Self::key(&task.bt_id, &archived(&text(&previous, "taskId").unwrap_or_default()));
        let version = previous.get("version").cloned().unwrap_or_else(|| n(0));
        previous.insert("sk".into(), s(CURRENT));
        let restore = Put::builder()
            .table_name(&self.table)
            .set_item(Some(previous))
            .condition_expression(still_ours)
            .set_expression_attribute_values(Some(values))
            .set_expression_attribute_names(Some(names))
            .build()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        let forget = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(archive_key))
            .condition_expression("attribute_not_exists(version) OR version = :version")
            .expression_attribute_values(":version", version)
            .build()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        match self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(restore).build())
            .transact_items(TransactWriteItem::builder().delete(forget).build())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if cancelled(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }
}

impl TaskStore for DynamoStore {
    async fn claim(&self, task: &Task) -> Result<Claim, StoreError> {
        for _ in 0..4 {
            let outcome = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(task_item(task, CURRENT)))
                .condition_expression("attribute_not_exists(pk)")
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let old = match outcome {
                Ok(_) => return Ok(Claim::Created),
                Err(SdkError::ServiceError(service)) if service.err().is_conditional_check_failed_exception() => {
                    match service.err() {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                            failed,
                        ) => failed.item().cloned(),
                        _ => None,
                    }
                }
                Err(error) => return Err(unavailable(error)),
            };
            // Older servers do not return the item: read it.
            let Some(old) = (match old {
                Some(old) => Some(old),
                None => self.item(&task.bt_id, CURRENT).await?,
            }) else {
                continue;
            };
            match parse_task(&old) {
                Ok(existing) if existing.is_stale_start(task.created_at) => return Ok(Claim::Stale(existing)),
                Ok(existing) if existing.status.holds_bt_id() => return Ok(Claim::Live(existing)),
                Ok(_) => {}
                // A record this version cannot read does not hold the btId forever.
                Err(error) => {
                    tracing::error!(%error, bt_id = %task.bt_id, "the current task cannot be read; replacing it")
                }
            }
            if self.replace(&old, task).await? {
                return Ok(Claim::Created);
            }
        }
        Err(StoreError::Unavailable(format!(
            "the btId {} changed under every attempt to claim it",
            task.bt_id
        )))
    }

    async fn take_over(
        &self,
        stale: &Task,
        reports: Reports,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        let change = Change::new(
            "startingExpiresAtMs = :expiresMs, startingExpiresAt = :expires, updatedAt = :now, \
             startAttempts = startAttempts + :one, reportsEverySegment = :everySegment, \
             reportsStreamEnd = :streamEnd",
            "attribute_not_exists(startingExpiresAtMs) OR startingExpiresAtMs <= :nowMs",
        )
        .value(":everySegment", AttributeValue::Bool(reports.every_segment))
        .value(":streamEnd", AttributeValue::Bool(reports.stream_end))
        .value(":expiresMs", n(millis(expires_at)))
        .value(":expires", time_text(expires_at))
        .value(":now", time_text(now))
        .value(":nowMs", n(millis(now)))
        .status_in(&[TaskStatus::Starting]);
        self.change_task(stale, change).await
    }

    async fn abandon(&self, task: &Task) -> Result<(), StoreError> {
        // A change to the previous task between the read and the undo (its
        // end, say) cancels the undo rather than being lost: read again.
        for _ in 0..4 {
            if self.try_abandon(task).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "the claim for {} could not be undone: its previous task kept changing",
            task.bt_id
        )))
    }

    async fn activate(
        &self,
        task: &Task,
        provider_task_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        let change = Change::new(
            "#status = :active, requestId = :requestId, \
             providerTaskIds = list_append(if_not_exists(providerTaskIds, :none), :ids), \
             adoptedDuplicate = :adopted, activeAt = :now, updatedAt = :now, openShard = :shard",
            "",
        )
        .value(":active", s(TaskStatus::Active.as_str()))
        .value(":requestId", s(provider_task_id))
        .value(":none", AttributeValue::L(Vec::new()))
        .value(":ids", AttributeValue::L(vec![s(provider_task_id)]))
        .value(":adopted", AttributeValue::Bool(adopted))
        .value(":now", time_text(now))
        .value(":shard", s(open_shard(&task.task_id)))
        .remove(&["startingExpiresAtMs", "startingExpiresAt"])
        .status_in(&[TaskStatus::Starting]);
        self.change_task(task, change).await
    }

    async fn fail(
        &self,
        task: &Task,
        reason: &str,
        lease_ended_by: Option<OffsetDateTime>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        let set = "#status = :failed, failure = :reason, updatedAt = :now, #ttl = :ttl";
        let change = match lease_ended_by {
            None => Change::new(set, ""),
            Some(cutoff) => Change::new(
                set,
                "attribute_not_exists(startingExpiresAtMs) OR startingExpiresAtMs <= :cutoffMs",
            )
            .value(":cutoffMs", n(millis(cutoff))),
        };
        let change = change
            .value(":failed", s(TaskStatus::Failed.as_str()))
            .value(":reason", s(reason))
            .value(":now", time_text(now))
            .value(":ttl", n(expires_at.unix_timestamp()))
            .remove(&["startingExpiresAtMs", "startingExpiresAt", "openShard"])
            .status_in(&[TaskStatus::Starting]);
        self.change_task(task, change).await
    }

    async fn release(&self, task: &Task, now: OffsetDateTime) -> Result<(), StoreError> {
        let change = Change::new(
            "startingExpiresAtMs = :nowMs, startingExpiresAt = :now, updatedAt = :now",
            "",
        )
        .value(":nowMs", n(millis(now)))
        .value(":now", time_text(now))
        .status_in(&[TaskStatus::Starting]);
        self.change_task(task, change).await.map(|_| ())
    }

    async fn current(&self, bt_id: &str) -> Result<Option<Task>, StoreError> {
        self.item(bt_id, CURRENT).await?.as_ref().map(parse_task).transpose()
    }

    async fn task(&self, bt_id: &str, task_id: &str) -> Result<Option<Task>, StoreError> {
        if let Some(current) = self.item(bt_id, CURRENT).await?
            && text(&current, "taskId").as_deref() == Some(task_id)
        {
            return parse_task(&current).map(Some);
        }
        self.item(bt_id, &archived(task_id))
            .await?
            .as_ref()
            .map(parse_task)
            .transpose()
    }

    async fn find_by_provider_task(&self, provider_task_id: &str) -> Result<Vec<Task>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(REQUEST_ID_INDEX)
            .key_condition_expression("requestId = :requestId")
            .expression_attribute_values(":requestId", s(provider_task_id))
            .send()
            .await
            .map_err(unavailable)?;
        let mut found = Vec::new();
        for keys in output.items() {
            let (Some(pk), Some(sk)) = (text(keys, "pk"), text(keys, "sk")) else {
                continue;
            };
            let Some(bt_id) = pk.strip_prefix("STREAM#") else {
                continue;
            };
            // The index is eventually consistent: confirm against the task itself.
            if let Some(item) = self.item(bt_id, &sk).await?
                && let Ok(task) = parse_task(&item)
                && task.request_id.as_deref() == Some(provider_task_id)
            {
                found.push(task);
            }
        }
        Ok(found)
    }

    async fn request_close(&self, task: &Task, reason: &str, now: OffsetDateTime) -> Result<Option<Task>, StoreError> {
        let change = Change::new(
            "closeRequestedAt = if_not_exists(closeRequestedAt, :now), \
             closeReason = if_not_exists(closeReason, :reason), \
             closeAttempts = if_not_exists(closeAttempts, :zero) + :one, updatedAt = :now",
            "",
        )
        .value(":now", time_text(now))
        .value(":reason", s(reason))
        .remove(&["closeError"])
        .status_in(&[TaskStatus::Active]);
        self.change_task(task, change).await
    }

    async fn close_failed(&self, task: &Task, error: &str) -> Result<(), StoreError> {
        let change = Change::new("closeError = :error", "")
            .value(":error", s(error))
            .status_in(&[TaskStatus::Active]);
        self.change_task(task, change).await.map(|_| ())
    }

    async fn mark_closed(&self, task: &Task, now: OffsetDateTime) -> Result<Option<Task>, StoreError> {
        let change = Change::new(
            "#status = :closed, closedAt = :now, closeRequestedAt = if_not_exists(closeRequestedAt, :now), \
             updatedAt = :now",
            "",
        )
        .value(":closed", s(TaskStatus::Closed.as_str()))
        .value(":now", time_text(now))
        .status_in(&[TaskStatus::Active]);
        self.change_task(task, change).await
    }

    async fn mark_ended(
        &self,
        bt_id: &str,
        task_id: &str,
        end: &StreamEnd,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        let mut set = String::from(
            "#status = :ended, endReason = :reason, endedAt = if_not_exists(endedAt, :now), updatedAt = :now, \
             #ttl = :ttl",
        );
        let mut values = vec![
            (":ended", s(TaskStatus::Ended.as_str())),
            (":reason", s(&end.reason)),
            (":now", time_text(now)),
            (":ttl", n(expires_at.unix_timestamp())),
        ];
        if let Some(code) = end.code {
            set.push_str(", endCode = :code");
            values.push((":code", n(code)));
        }
        if let Some(seconds) = end.stream_time {
            set.push_str(", streamTime = :streamTime");
            values.push((":streamTime", n(seconds)));
        }
        // A real end replaces the watchdog's guess that none would come.
        let replaces_a_guess = end.reason != end_reason::END_NOT_RECEIVED;
        let open = Change::new("", "").status_in(&[TaskStatus::Starting, TaskStatus::Active, TaskStatus::Closed]);
        let condition = if replaces_a_guess {
            values.push((":guess", s(end_reason::END_NOT_RECEIVED)));
            format!("({}) OR (#status = :ended AND endReason = :guess)", open.condition)
        } else {
            open.condition.clone()
        };
        let mut change = Change::new(set, condition).remove(&["startingExpiresAtMs", "startingExpiresAt", "openShard"]);
        change.values.extend(open.values);
        for (name, value) in values {
            change = change.value(name, value);
        }
        Ok(match self.change(bt_id, task_id, change).await? {
            Changed::Done(task) => Some(task),
            Changed::Refused(_) => None,
        })
    }

    async fn record_progress(
        &self,
        bt_id: &str,
        task_id: &str,
        provider_task_id: &str,
        segment: u64,
        now: OffsetDateTime,
    ) -> Result<Progress, StoreError> {
        let change = Change::new(
            "segmentsSeen = :segment, progressAt = :now",
            "(attribute_not_exists(segmentsSeen) OR segmentsSeen < :segment) \
             AND (#status = :starting OR requestId = :providerTask)",
        )
        .value(":segment", n(segment))
        .value(":now", time_text(now))
        .value(":starting", s(TaskStatus::Starting.as_str()))
        .value(":providerTask", s(provider_task_id));
        Ok(match self.change(bt_id, task_id, change).await? {
            Changed::Done(_) => Progress::Recorded,
            Changed::Refused(Some(task)) if task.is_stray(provider_task_id) => Progress::Stray,
            Changed::Refused(_) => Progress::Unchanged,
        })
    }

    async fn note_stale(&self, task: &Task, now: OffsetDateTime) -> Result<bool, StoreError> {
        let (condition, previous) = match task.stale_notified_at {
            Some(said) => ("staleNotifiedAt = :said", Some(time_text(said))),
            None => ("attribute_not_exists(staleNotifiedAt)", None),
        };
        let mut change = Change::new("staleNotifiedAt = :now", condition)
            .value(":now", time_text(now))
            .status_in(&[TaskStatus::Active]);
        if let Some(previous) = previous {
            change = change.value(":said", previous);
        }
        Ok(self.change_task(task, change).await?.is_some())
    }

    async fn record_stray(&self, stray: &Stray) -> Result<bool, StoreError> {
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(stray_item(stray)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn stray_stop_attempted(
        &self,
        stray: &Stray,
        stopped: bool,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                &stray.bt_id,
                &stray_key(stray.provider, &stray.provider_task_id),
            )))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0));
        request = if stopped {
            request
                .update_expression(
                    "SET stopAttempts = if_not_exists(stopAttempts, :zero) + :one, \
                     stoppedAt = if_not_exists(stoppedAt, :now), #ttl = :ttl REMOVE openShard",
                )
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", time_text(now))
                .expression_attribute_values(":ttl", n(expires_at.unix_timestamp()))
        } else {
            request.update_expression("SET stopAttempts = if_not_exists(stopAttempts, :zero) + :one")
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn own_provider_task(&self, owner: &Owner, expires_at: OffsetDateTime) -> Result<Ownership, StoreError> {
        let (pk, sk) = owner_key(owner.provider, &owner.provider_task_id);
        let item = HashMap::from([
            ("pk".to_owned(), s(pk)),
            ("sk".to_owned(), s(sk)),
            ("provider".to_owned(), s(owner.provider.as_str())),
            ("providerTaskId".to_owned(), s(&owner.provider_task_id)),
            ("btId".to_owned(), s(&owner.bt_id)),
            ("taskId".to_owned(), s(&owner.task_id)),
            ("ttl".to_owned(), n(expires_at.unix_timestamp())),
        ]);
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR btId = :btId")
            .expression_attribute_values(":btId", s(&owner.bt_id))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(Ownership::Owned),
            Err(error) if condition_failed(&error) => {
                let held = match &error {
                    SdkError::ServiceError(service) => match service.err() {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                            failed,
                        ) => failed.item().map(parse_owner).transpose()?,
                        _ => None,
                    },
                    _ => None,
                };
                held.map(Ownership::HeldBy)
                    .ok_or_else(|| StoreError::Unavailable("a provider task's owner changed while read".into()))
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn provider_task_owner(
        &self,
        provider: ProviderId,
        provider_task_id: &str,
    ) -> Result<Option<Owner>, StoreError> {
        let (pk, sk) = owner_key(provider, provider_task_id);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(HashMap::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sk)),
            ])))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.as_ref().map(parse_owner).transpose()
    }

    async fn open(&self, filter: OpenFilter, cursor: Option<&str>, limit: usize) -> Result<Page<Open>, StoreError> {
        let (mut shard, mut start) = match cursor {
            Some(cursor) => read_cursor(cursor)?,
            None => (0, None),
        };
        let mut items = Vec::new();
        while items.len() < limit {
            let (found, next) = self
                .open_shard_page(shard, filter, start.take(), limit - items.len())
                .await?;
            items.extend(found);
            match next {
                Some(next) => start = Some(next),
                None if shard + 1 < OPEN_SHARDS => shard += 1,
                None => {
                    return Ok(Page { items, cursor: None });
                }
            }
        }
        Ok(Page {
            items,
            cursor: Some(cursor_text(shard, start.as_ref())),
        })
    }

    async fn is_published(&self, bt_id: &str, event_id: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(bt_id, &format!("EVENT#{event_id}"))))
            .projection_expression("pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item.is_some())
    }

    async fn record_published(&self, record: &Published) -> Result<(), StoreError> {
        let mut item = Self::key(&record.bt_id, &format!("EVENT#{}", record.event_id));
        item.insert("entity".into(), s("event"));
        item.insert("eventId".into(), s(&record.event_id));
        item.insert("ofRequestId".into(), s(&record.request_id));
        item.insert("kind".into(), s(&record.kind));
        if let Some(level) = &record.risk_level {
            item.insert("riskLevel".into(), s(level));
        }
        item.insert("publishedAt".into(), time_text(record.at));
        item.insert("ttl".into(), n(record.expires_at.unix_timestamp()));
        // The history's index: the btId's events by time.
        item.insert("eventsOf".into(), s(&record.bt_id));
        item.insert("publishedAtMs".into(), n(millis(record.at)));
        if let Some(event) = &record.event {
            item.insert("event".into(), s(event));
        }
        if let Some(result) = &record.provider_result {
            item.insert("providerResult".into(), s(result));
        }
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn published(&self, bt_id: &str, event_id: &str) -> Result<Option<Published>, StoreError> {
        self.item(bt_id, &format!("EVENT#{event_id}"))
            .await?
            .as_ref()
            .map(parse_published)
            .transpose()
    }

    async fn record_evidence(&self, bt_id: &str, event_id: &str, evidence: &Evidence) -> Result<bool, StoreError> {
        let objects = evidence
            .objects
            .iter()
            .map(|object| {
                AttributeValue::M(HashMap::from([
                    ("role".to_owned(), s(&object.role)),
                    ("key".to_owned(), s(&object.key)),
                    ("bytes".to_owned(), n(object.bytes)),
                ]))
            })
            .collect();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(bt_id, &format!("EVENT#{event_id}"))))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(evidenceState)")
            .expression_attribute_values(":state", s(evidence.state.as_str()))
            .expression_attribute_values(":objects", AttributeValue::L(objects))
            .expression_attribute_values(":at", time_text(evidence.archived_at));
        request = match &evidence.failure {
            Some(failure) => request
                .update_expression(
                    "SET evidenceState = :state, evidenceObjects = :objects, archivedAt = :at, \
                     evidenceFailure = :failure",
                )
                .expression_attribute_values(":failure", s(failure)),
            None => {
                request.update_expression("SET evidenceState = :state, evidenceObjects = :objects, archivedAt = :at")
            }
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn published_events(
        &self,
        bt_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Published>, StoreError> {
        let start = cursor.map(|cursor| read_events_cursor(cursor, bt_id)).transpose()?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(EVENTS_INDEX)
            .key_condition_expression("eventsOf = :btId")
            .expression_attribute_values(":btId", s(bt_id))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        let items = output
            .items()
            .iter()
            .map(parse_published)
            .collect::<Result<Vec<_>, _>>()?;
        // A page may hold fewer than `limit` (DynamoDB stops a query at 1 MB
        // read): whenever DynamoDB says there is more, so does the cursor.
        let cursor = output
            .last_evaluated_key()
            .map(|key| URL_SAFE_NO_PAD.encode(serde_json::to_string(&string_key(key)).unwrap_or_default()));
        Ok(Page { items, cursor })
    }

    async fn count_published(&self, bt_id: &str, event_prefix: &str, risk_level: &str) -> Result<u64, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("riskLevel = :level")
            .expression_attribute_values(":pk", s(format!("STREAM#{bt_id}")))
            .expression_attribute_values(":prefix", s(format!("EVENT#{event_prefix}")))
            .expression_attribute_values(":level", s(risk_level))
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut count = 0u64;
        while let Some(page) = pages.next().await {
            count += page.map_err(unavailable)?.count as u64;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        Task::starting(
            "room 1",
            crate::providers::REGISTERED[0],
            now,
            now + time::Duration::seconds(30),
        )
    }

    #[test]
    fn task_items_round_trip() {
        let mut task = task();
        task.request_id = Some("b639042cbfe229359e672074762c5583".into());
        task.provider_task_ids = vec!["earlier".into(), "b639042cbfe229359e672074762c5583".into()];
        task.end_code = Some(3005);
        task.end_reason = Some("TOKEN_INVALID_OR_EXPIRED".into());
        task.segments_seen = 42;
        task.close_reason = Some("MAX_DURATION".into());
        let item = task_item(&task, CURRENT);
        assert_eq!(item["pk"].as_s().unwrap(), "STREAM#room 1");
        assert_eq!(item["sk"].as_s().unwrap(), "TASK");
        assert!(
            item["openShard"].as_s().unwrap().starts_with("OPEN#"),
            "open while STARTING"
        );
        assert_eq!(parse_task(&item).unwrap(), task);
    }

    #[test]
    fn an_unknown_stored_provider_is_unreadable_not_a_default() {
        let mut item = task_item(&task(), CURRENT);
        item.insert("provider".into(), s("tencent"));
        assert!(matches!(parse_task(&item), Err(StoreError::Unreadable(problem)) if problem.contains("tencent")));
        item.remove("provider");
        assert!(matches!(parse_task(&item), Err(StoreError::Unreadable(_))));
    }

    #[test]
    fn a_task_stored_before_the_state_machine_reads_as_closed() {
        let mut item = task_item(&task(), CURRENT);
        item.insert("status".into(), s("CLOSING"));
        item.insert(
            "closingAt".into(),
            time_text(OffsetDateTime::from_unix_timestamp(1_790_000_100).unwrap()),
        );
        let task = parse_task(&item).unwrap();
        assert_eq!(task.status, TaskStatus::Closed);
        assert!(task.closed_at.is_some());
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_unreadable() {
        let key: Item = HashMap::from([
            ("pk".to_owned(), s("STREAM#a")),
            ("sk".to_owned(), s("TASK")),
            ("openShard".to_owned(), s("OPEN#5")),
            ("createdAt".to_owned(), s("2026-12-01T00:00:00Z")),
        ]);
        let text = cursor_text(5, Some(&key));
        assert_eq!(read_cursor(&text).unwrap(), (5, Some(key.clone())));
        assert_eq!(read_cursor(&cursor_text(6, None)).unwrap(), (6, None));
        assert!(matches!(read_cursor("not a cursor"), Err(StoreError::BadCursor(_))));
        // Keys that would make DynamoDB fail (a 503) are refused as a bad cursor (a 400).
        let mut empty = key.clone();
        empty.insert("sk".to_owned(), s(""));
        for tampered in [HashMap::from([("pk".to_owned(), s("STREAM#a"))]), empty] {
            assert!(matches!(
                read_cursor(&cursor_text(5, Some(&tampered))),
                Err(StoreError::BadCursor(_))
            ));
        }
        let mut other_shard = key.clone();
        other_shard.insert("openShard".to_owned(), s("OPEN#7"));
        assert!(matches!(
            read_cursor(&cursor_text(5, Some(&other_shard))),
            Err(StoreError::BadCursor(_))
        ));
        assert!(matches!(
            read_cursor(&URL_SAFE_NO_PAD.encode(r#"{"shard": 99, "key": {}}"#)),
            Err(StoreError::BadCursor(_))
        ));
    }
}
