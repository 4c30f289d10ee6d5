//! The task table on DynamoDB. One table, two kinds of item:
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | task (the btId's current one) | `STREAM#<btId>` | `TASK` | `taskId`, `provider`, `status`, `requestId`, `adoptedDuplicate`, times (RFC 3339), `startingExpiresAtMs`, `startAttempts`, `endCode`, `endReason`, `streamTime`, `failure`, `segmentsSeen`, `progressAt` |
//! | published event | `STREAM#<btId>` | `EVENT#<eventId>` | `eventId`, `ofRequestId`, `kind`, `riskLevel`, `publishedAt`, `ttl` (epoch s) |
//!
//! Global secondary index `byRequestId` (partition key `requestId`, only on
//! task items, keys only) finds a task by its provider requestId (close by
//! requestId). Keys only, so that task updates (progress, end) that leave
//! `requestId` alone cost no index write.
//! Event items expire through DynamoDB TTL on `ttl`; deduplication never
//! depends on the deletion happening on time.

use crate::domain::ProviderId;
use crate::domain::task::{Published, StreamEnd, Task, TaskStatus};
use crate::ports::{Claim, StoreError, TaskStore};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, Select};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Name of the index on `requestId`.
pub const REQUEST_ID_INDEX: &str = "byRequestId";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
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
            .set_key(Some(Self::key("__warm-up__", "TASK")))
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

fn storage<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> StoreError {
    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

fn task_item(task: &Task) -> Item {
    let mut item = DynamoStore::key(&task.bt_id, "TASK");
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    put("entity", s("task"));
    put("btId", s(&task.bt_id));
    put("taskId", s(&task.task_id));
    put("provider", s(task.provider.as_str()));
    put("status", s(task.status.as_str()));
    put("adoptedDuplicate", AttributeValue::Bool(task.adopted_duplicate));
    put("createdAt", time_text(task.created_at));
    put("updatedAt", time_text(task.updated_at));
    put("startAttempts", n(task.start_attempts));
    put("segmentsSeen", n(task.segments_seen));
    if let Some(request_id) = &task.request_id {
        put("requestId", s(request_id));
    }
    if let Some(expiry) = task.starting_expires_at {
        put("startingExpiresAtMs", n(millis(expiry)));
        put("startingExpiresAt", time_text(expiry));
    }
    for (name, at) in [
        ("activeAt", task.active_at),
        ("closingAt", task.closing_at),
        ("endedAt", task.ended_at),
        ("progressAt", task.progress_at),
    ] {
        if let Some(at) = at {
            put(name, time_text(at));
        }
    }
    if let Some(code) = task.end_code {
        put("endCode", n(code));
    }
    if let Some(reason) = &task.end_reason {
        put("endReason", s(reason));
    }
    if let Some(seconds) = task.stream_time {
        put("streamTime", n(seconds));
    }
    if let Some(failure) = &task.failure {
        put("failure", s(failure));
    }
    item
}

fn parse_task(item: &Item) -> Result<Task, StoreError> {
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
    let number = |name: &str| {
        item.get(name)
            .and_then(|value| value.as_n().ok())
            .and_then(|value| value.parse::<i64>().ok())
    };
    let at = |name: &str| text(name).and_then(|value| OffsetDateTime::parse(&value, &Rfc3339).ok());
    let missing = |name: &str| StoreError(format!("task item without {name}"));
    Ok(Task {
        bt_id: text("btId").ok_or_else(|| missing("btId"))?,
        task_id: text("taskId").ok_or_else(|| missing("taskId"))?,
        provider: {
            let name = text("provider").ok_or_else(|| missing("provider"))?;
            ProviderId::parse(&name).map_err(|unknown| StoreError(format!("task item: {unknown}")))?
        },
        status: text("status")
            .as_deref()
            .and_then(TaskStatus::parse)
            .ok_or_else(|| missing("status"))?,
        request_id: text("requestId"),
        adopted_duplicate: item
            .get("adoptedDuplicate")
            .and_then(|value| value.as_bool().ok())
            .copied()
            .unwrap_or(false),
        created_at: at("createdAt").ok_or_else(|| missing("createdAt"))?,
        updated_at: at("updatedAt").ok_or_else(|| missing("updatedAt"))?,
        starting_expires_at: at("startingExpiresAt"),
        start_attempts: number("startAttempts").unwrap_or(1) as u32,
        active_at: at("activeAt"),
        closing_at: at("closingAt"),
        ended_at: at("endedAt"),
        end_code: number("endCode"),
        end_reason: text("endReason"),
        stream_time: number("streamTime"),
        failure: text("failure"),
        segments_seen: number("segmentsSeen").unwrap_or(0) as u64,
        progress_at: at("progressAt"),
    })
}

/// Whether a write failed only because its condition did not hold.
fn condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(service) if service.err().code() == Some("ConditionalCheckFailedException"))
}

impl DynamoStore {
    /// Updates the btId's task if it is still `task_id` in one of `statuses`; the new task, or `None`.
    async fn update_task(
        &self,
        (bt_id, task_id): (&str, &str),
        statuses: &[TaskStatus],
        set: &str,
        values: Vec<(&str, AttributeValue)>,
        extra_condition: Option<&str>,
    ) -> Result<Option<Task>, StoreError> {
        let mut condition = String::from("taskId = :taskId");
        if !statuses.is_empty() {
            let names: Vec<String> = (0..statuses.len()).map(|index| format!(":allowed{index}")).collect();
            condition.push_str(&format!(" AND #status IN ({})", names.join(", ")));
        }
        if let Some(extra) = extra_condition {
            condition.push_str(" AND ");
            condition.push_str(extra);
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(bt_id, "TASK")))
            .update_expression(set)
            .condition_expression(condition)
            .expression_attribute_values(":taskId", s(task_id))
            .return_values(ReturnValue::AllNew);
        if !statuses.is_empty() || set.contains("#status") {
            request = request.expression_attribute_names("#status", "status");
        }
        for (index, status) in statuses.iter().enumerate() {
            request = request.expression_attribute_values(format!(":allowed{index}"), s(status.as_str()));
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(output) => output.attributes.as_ref().map(parse_task).transpose(),
            Err(error) if condition_failed(&error) => Ok(None),
            Err(error) => Err(storage(error)),
        }
    }
}

impl TaskStore for DynamoStore {
    async fn claim(&self, task: &Task) -> Result<Claim, StoreError> {
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(task_item(task)))
            .condition_expression("attribute_not_exists(pk) OR #status IN (:ended, :failed)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":ended", s(TaskStatus::Ended.as_str()))
            .expression_attribute_values(":failed", s(TaskStatus::Failed.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(Claim::Created),
            Err(SdkError::ServiceError(service)) if service.err().is_conditional_check_failed_exception() => {
                let existing = match service.err() {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed) => {
                        failed.item().map(parse_task).transpose()?
                    }
                    _ => None,
                };
                // Older servers do not return the item: read it.
                let existing = match existing {
                    Some(existing) => existing,
                    None => self
                        .get(&task.bt_id)
                        .await?
                        .ok_or_else(|| StoreError("the claimed task vanished".into()))?,
                };
                if existing.is_stale_start(task.created_at) {
                    Ok(Claim::Stale(existing))
                } else {
                    Ok(Claim::Live(existing))
                }
            }
            Err(error) => Err(storage(error)),
        }
    }

    async fn take_over(
        &self,
        stale: &Task,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        let set = "SET startingExpiresAtMs = :expiresMs, startingExpiresAt = :expires, updatedAt = :now, \
                   startAttempts = startAttempts + :one";
        let values = vec![
            (":expiresMs", n(millis(expires_at))),
            (":expires", time_text(expires_at)),
            (":now", time_text(now)),
            (":nowMs", n(millis(now))),
            (":one", n(1)),
        ];
        self.update_task(
            (&stale.bt_id, &stale.task_id),
            &[TaskStatus::Starting],
            set,
            values,
            Some("startingExpiresAtMs <= :nowMs"),
        )
        .await
    }

    async fn activate(
        &self,
        task: &Task,
        request_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        let set = "SET #status = :active, requestId = :requestId, adoptedDuplicate = :adopted, activeAt = :now, \
                   updatedAt = :now REMOVE startingExpiresAtMs, startingExpiresAt";
        let values = vec![
            (":active", s(TaskStatus::Active.as_str())),
            (":requestId", s(request_id)),
            (":adopted", AttributeValue::Bool(adopted)),
            (":now", time_text(now)),
        ];
        self.update_task((&task.bt_id, &task.task_id), &[TaskStatus::Starting], set, values, None)
            .await
    }

    async fn fail(&self, task: &Task, reason: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let set =
            "SET #status = :failed, failure = :reason, updatedAt = :now REMOVE startingExpiresAtMs, startingExpiresAt";
        let values = vec![
            (":failed", s(TaskStatus::Failed.as_str())),
            (":reason", s(reason)),
            (":now", time_text(now)),
        ];
        self.update_task((&task.bt_id, &task.task_id), &[TaskStatus::Starting], set, values, None)
            .await
            .map(|_| ())
    }

    async fn release(&self, task: &Task, now: OffsetDateTime) -> Result<(), StoreError> {
        let set = "SET startingExpiresAtMs = :nowMs, startingExpiresAt = :now, updatedAt = :now";
        let values = vec![(":nowMs", n(millis(now))), (":now", time_text(now))];
        self.update_task((&task.bt_id, &task.task_id), &[TaskStatus::Starting], set, values, None)
            .await
            .map(|_| ())
    }

    async fn get(&self, bt_id: &str) -> Result<Option<Task>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(bt_id, "TASK")))
            .consistent_read(true)
            .send()
            .await
            .map_err(storage)?;
        output.item.as_ref().map(parse_task).transpose()
    }

    async fn find_by_request_id(&self, request_id: &str) -> Result<Option<Task>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(REQUEST_ID_INDEX)
            .key_condition_expression("requestId = :requestId")
            .expression_attribute_values(":requestId", s(request_id))
            .send()
            .await
            .map_err(storage)?;
        let bt_id = output
            .items()
            .first()
            .and_then(|keys| keys.get("pk"))
            .and_then(|pk| pk.as_s().ok())
            .and_then(|pk| pk.strip_prefix("STREAM#"));
        match bt_id {
            // The index is eventually consistent: confirm against the task itself.
            Some(bt_id) => Ok(self
                .get(bt_id)
                .await?
                .filter(|task| task.request_id.as_deref() == Some(request_id))),
            None => Ok(None),
        }
    }

    async fn mark_closing(&self, task: &Task, now: OffsetDateTime) -> Result<Option<Task>, StoreError> {
        let set = "SET #status = :closing, closingAt = if_not_exists(closingAt, :now), updatedAt = :now";
        let values = vec![(":closing", s(TaskStatus::Closing.as_str())), (":now", time_text(now))];
        self.update_task(
            (&task.bt_id, &task.task_id),
            &[TaskStatus::Active, TaskStatus::Closing],
            set,
            values,
            None,
        )
        .await
    }

    async fn mark_ended(
        &self,
        bt_id: &str,
        task_id: &str,
        end: &StreamEnd,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut set = String::from(
            "SET #status = :ended, endReason = :reason, endedAt = if_not_exists(endedAt, :now), updatedAt = :now",
        );
        let mut values = vec![
            (":ended", s(TaskStatus::Ended.as_str())),
            (":reason", s(&end.reason)),
            (":now", time_text(now)),
        ];
        if let Some(code) = end.code {
            set.push_str(", endCode = :code");
            values.push((":code", n(code)));
        }
        if let Some(seconds) = end.stream_time {
            set.push_str(", streamTime = :streamTime");
            values.push((":streamTime", n(seconds)));
        }
        Ok(self
            .update_task((bt_id, task_id), &[], &set, values, None)
            .await?
            .is_some())
    }

    async fn record_progress(
        &self,
        bt_id: &str,
        task_id: &str,
        segment: u64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let set = "SET segmentsSeen = :segment, progressAt = :now";
        let values = vec![(":segment", n(segment)), (":now", time_text(now))];
        let condition = "(attribute_not_exists(segmentsSeen) OR segmentsSeen < :segment)";
        self.update_task((bt_id, task_id), &[], set, values, Some(condition))
            .await
            .map(|_| ())
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
            .map_err(storage)?;
        Ok(output.item.is_some())
    }

    async fn record_published(&self, record: &Published) -> Result<(), StoreError> {
        let mut item = Self::key(&record.bt_id, &format!("EVENT#{}", record.event_id));
        item.insert("entity".into(), s("event"));
        item.insert("eventId".into(), s(&record.event_id));
        item.insert("ofRequestId".into(), s(&record.request_id));
        item.insert("kind".into(), s(record.kind));
        if let Some(level) = &record.risk_level {
            item.insert("riskLevel".into(), s(level));
        }
        item.insert("publishedAt".into(), time_text(record.at));
        item.insert("ttl".into(), n(record.expires_at.unix_timestamp()));
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
            Err(error) => Err(storage(error)),
        }
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
            count += page.map_err(storage)?.count as u64;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_items_round_trip() {
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let mut task = Task::starting(
            "room 1",
            crate::providers::REGISTERED[0],
            now,
            now + time::Duration::seconds(30),
        );
        task.request_id = Some("b639042cbfe229359e672074762c5583".into());
        task.end_code = Some(3005);
        task.end_reason = Some("TOKEN_INVALID_OR_EXPIRED".into());
        task.segments_seen = 42;
        let item = task_item(&task);
        assert_eq!(item["pk"].as_s().unwrap(), "STREAM#room 1");
        assert_eq!(item["sk"].as_s().unwrap(), "TASK");
        assert_eq!(parse_task(&item).unwrap(), task);
    }

    #[test]
    fn an_unknown_stored_provider_is_an_error_not_a_default() {
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let task = Task::starting("room 1", crate::providers::REGISTERED[0], now, now);
        let mut item = task_item(&task);
        item.insert("provider".into(), s("tencent"));
        let error = parse_task(&item).unwrap_err();
        assert!(error.0.contains("tencent"), "{error}");
        item.remove("provider");
        assert!(parse_task(&item).is_err());
    }
}
