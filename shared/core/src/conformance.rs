//! The conformance suite of [`TaskStore`]: one set of cases that the
//! in-memory store (the domain tests' fake) and the DynamoDB store (against
//! moto, in the end-to-end tests) both run, so the fake cannot drift from
//! the real store. Each case uses its own btIds, so one store serves them all.

use crate::domain::ProviderId;
use crate::domain::task::{Published, StreamEnd, Task, TaskStatus};
use crate::ports::{Claim, TaskStore};
use std::time::Duration;
use time::OffsetDateTime;

/// Runs every case against `store`; panics naming the first case that fails.
pub async fn check_task_store<S: TaskStore>(store: &S, provider: ProviderId) {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let cases = Cases { store, provider, run };
    cases.claim().await;
    cases.take_over().await;
    cases.activate_fail_release().await;
    cases.find_by_request_id().await;
    cases.closing_and_ended().await;
    cases.progress().await;
    cases.published_records().await;
}

struct Cases<'a, S> {
    store: &'a S,
    provider: ProviderId,
    run: String,
}

const LEASE: Duration = Duration::from_secs(30);

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).expect("in range")
}

impl<S: TaskStore> Cases<'_, S> {
    fn bt_id(&self, case: &str) -> String {
        format!("conformance-{}-{case}", self.run)
    }

    fn starting(&self, case: &str, now: OffsetDateTime) -> Task {
        Task::starting(&self.bt_id(case), self.provider, now, now + LEASE)
    }

    async fn get(&self, bt_id: &str) -> Task {
        self.store.get(bt_id).await.expect("get").expect("the task exists")
    }

    async fn active(&self, case: &str, request_id: &str) -> Task {
        let task = self.starting(case, at(0));
        assert_eq!(self.store.claim(&task).await.unwrap(), Claim::Created, "{case}: claim");
        self.store
            .activate(&task, request_id, false, at(1))
            .await
            .unwrap()
            .expect("activated")
    }

    async fn claim(&self) {
        let first = self.starting("claim", at(0));
        assert_eq!(
            self.store.get(&first.bt_id).await.unwrap(),
            None,
            "claim: nothing before"
        );
        assert_eq!(
            self.store.claim(&first).await.unwrap(),
            Claim::Created,
            "claim: on an empty btId"
        );
        assert_eq!(self.get(&first.bt_id).await, first, "claim: stored as given");

        let second = self.starting("claim", at(5));
        assert_eq!(
            self.store.claim(&second).await.unwrap(),
            Claim::Live(first.clone()),
            "claim: a STARTING task within its lease holds the btId"
        );
        let late = self.starting("claim", at(30));
        assert_eq!(
            self.store.claim(&late).await.unwrap(),
            Claim::Stale(first.clone()),
            "claim: a STARTING task past its lease is stale"
        );
        assert_eq!(
            self.get(&first.bt_id).await,
            first,
            "claim: a refused claim changes nothing"
        );

        let active = self
            .store
            .activate(&first, "r-claim", false, at(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            self.store.claim(&self.starting("claim", at(100))).await.unwrap(),
            Claim::Live(active.clone()),
            "claim: an ACTIVE task holds the btId whatever the time"
        );
        self.store
            .mark_ended(&first.bt_id, &first.task_id, &end(), at(2))
            .await
            .unwrap();
        let after_end = self.starting("claim", at(3));
        assert_eq!(
            self.store.claim(&after_end).await.unwrap(),
            Claim::Created,
            "claim: an ENDED task frees the btId"
        );
        assert_eq!(
            self.get(&first.bt_id).await,
            after_end,
            "claim: the new task replaces the ended one"
        );
    }

    async fn take_over(&self) {
        let task = self.starting("takeover", at(0));
        self.store.claim(&task).await.unwrap();
        assert_eq!(
            self.store.take_over(&task, at(40), at(10)).await.unwrap(),
            None,
            "take over: not while the lease runs"
        );
        let taken = self
            .store
            .take_over(&task, at(60) + LEASE, at(60))
            .await
            .unwrap()
            .expect("take over: a stale start");
        assert_eq!(
            taken.task_id, task.task_id,
            "take over: the same task, so its callback URL holds"
        );
        assert_eq!(taken.start_attempts, 2);
        assert_eq!(taken.starting_expires_at, Some(at(60) + LEASE));
        assert_eq!(taken.status, TaskStatus::Starting);
        assert_eq!(
            self.store.take_over(&task, at(61) + LEASE, at(61)).await.unwrap(),
            None,
            "take over: only one of two racing starts wins"
        );
    }

    async fn activate_fail_release(&self) {
        let task = self.starting("activate", at(0));
        self.store.claim(&task).await.unwrap();
        let mut other = task.clone();
        other.task_id = "f".repeat(32);
        assert_eq!(
            self.store.activate(&other, "r-x", false, at(1)).await.unwrap(),
            None,
            "activate: only the same task"
        );
        let active = self
            .store
            .activate(&task, "r-activate", true, at(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(active.status, TaskStatus::Active);
        assert_eq!(active.request_id.as_deref(), Some("r-activate"));
        assert!(active.adopted_duplicate);
        assert_eq!(active.active_at, Some(at(1)));
        assert_eq!(active.starting_expires_at, None);
        assert_eq!(self.get(&task.bt_id).await, active, "activate: stored");
        assert_eq!(
            self.store.activate(&task, "r-again", false, at(2)).await.unwrap(),
            None,
            "activate: only a STARTING task"
        );
        self.store.fail(&task, "too late", at(3)).await.unwrap();
        assert_eq!(
            self.get(&task.bt_id).await.status,
            TaskStatus::Active,
            "fail: only a STARTING task"
        );

        let refused = self.starting("fail", at(0));
        self.store.claim(&refused).await.unwrap();
        self.store
            .fail(&refused, "provider code 1902: bad", at(1))
            .await
            .unwrap();
        let failed = self.get(&refused.bt_id).await;
        assert_eq!(failed.status, TaskStatus::Failed);
        assert_eq!(failed.failure.as_deref(), Some("provider code 1902: bad"));
        assert_eq!(
            self.store.claim(&self.starting("fail", at(2))).await.unwrap(),
            Claim::Created,
            "fail: a FAILED task frees the btId"
        );

        let released = self.starting("release", at(0));
        self.store.claim(&released).await.unwrap();
        self.store.release(&released, at(1)).await.unwrap();
        assert!(
            matches!(
                self.store.claim(&self.starting("release", at(1))).await.unwrap(),
                Claim::Stale(_)
            ),
            "release: the next start takes the task over at once"
        );
    }

    async fn find_by_request_id(&self) {
        let request_id = format!("r-find-{}", self.run);
        let active = self.active("find", &request_id).await;
        assert_eq!(self.store.find_by_request_id(&request_id).await.unwrap(), Some(active));
        assert_eq!(
            self.store
                .find_by_request_id(&format!("unknown-{}", self.run))
                .await
                .unwrap(),
            None
        );
    }

    async fn closing_and_ended(&self) {
        let active = self.active("close", "r-close").await;
        let closing = self.store.mark_closing(&active, at(10)).await.unwrap().unwrap();
        assert_eq!(closing.status, TaskStatus::Closing);
        assert_eq!(closing.closing_at, Some(at(10)));
        let again = self.store.mark_closing(&active, at(20)).await.unwrap().unwrap();
        assert_eq!(
            again.closing_at,
            Some(at(10)),
            "closing: the first close's time is kept"
        );
        let mut other = active.clone();
        other.task_id = "f".repeat(32);
        assert_eq!(
            self.store.mark_closing(&other, at(20)).await.unwrap(),
            None,
            "closing: only the same task"
        );

        assert!(
            !self
                .store
                .mark_ended(&active.bt_id, &other.task_id, &end(), at(30))
                .await
                .unwrap(),
            "ended: only the btId's current task"
        );
        assert!(
            self.store
                .mark_ended(&active.bt_id, &active.task_id, &end(), at(30))
                .await
                .unwrap()
        );
        let ended = self.get(&active.bt_id).await;
        assert_eq!(ended.status, TaskStatus::Ended);
        assert_eq!(
            (ended.end_code, ended.end_reason.as_deref(), ended.stream_time),
            (Some(3005), Some("TOKEN_INVALID_OR_EXPIRED"), Some(600))
        );
        assert_eq!(ended.ended_at, Some(at(30)));
        assert_eq!(
            self.store.mark_closing(&active, at(40)).await.unwrap(),
            None,
            "closing: not once ENDED"
        );

        let starting = self.starting("close-starting", at(0));
        self.store.claim(&starting).await.unwrap();
        assert_eq!(
            self.store.mark_closing(&starting, at(1)).await.unwrap(),
            None,
            "closing: not a STARTING task"
        );
    }

    async fn progress(&self) {
        let active = self.active("progress", "r-progress").await;
        self.store
            .record_progress(&active.bt_id, &active.task_id, 7, at(10))
            .await
            .unwrap();
        let seen = self.get(&active.bt_id).await;
        assert_eq!((seen.segments_seen, seen.progress_at), (7, Some(at(10))));
        self.store
            .record_progress(&active.bt_id, &active.task_id, 3, at(20))
            .await
            .unwrap();
        assert_eq!(
            self.get(&active.bt_id).await.segments_seen,
            7,
            "progress: never lowered"
        );
        self.store
            .record_progress(&active.bt_id, &"f".repeat(32), 99, at(20))
            .await
            .unwrap();
        assert_eq!(
            self.get(&active.bt_id).await.segments_seen,
            7,
            "progress: only the same task"
        );
    }

    async fn published_records(&self) {
        let bt_id = self.bt_id("published");
        let record = |event_id: &str, risk_level: Option<&str>, seconds: i64| Published {
            bt_id: bt_id.clone(),
            event_id: event_id.to_owned(),
            request_id: "r-pub".into(),
            kind: if risk_level.is_some() { "segment" } else { "streamEnd" },
            risk_level: risk_level.map(str::to_owned),
            at: at(seconds),
            expires_at: at(seconds + 3600),
        };
        let prefix = format!("{}:r-pub_", self.provider);
        assert!(!self.store.is_published(&bt_id, &format!("{prefix}1")).await.unwrap());
        self.store
            .record_published(&record(&format!("{prefix}1"), Some("REJECT"), 0))
            .await
            .unwrap();
        assert!(self.store.is_published(&bt_id, &format!("{prefix}1")).await.unwrap());
        self.store
            .record_published(&record(&format!("{prefix}1"), Some("REVIEW"), 5))
            .await
            .unwrap();
        self.store
            .record_published(&record(&format!("{prefix}2"), Some("REJECT"), 0))
            .await
            .unwrap();
        self.store
            .record_published(&record(&format!("{prefix}3"), Some("REVIEW"), 0))
            .await
            .unwrap();
        self.store
            .record_published(&record(&format!("{}:r-other_1", self.provider), Some("REJECT"), 0))
            .await
            .unwrap();
        self.store
            .record_published(&record(&format!("{}:r-pub:end", self.provider), None, 0))
            .await
            .unwrap();
        assert_eq!(
            self.store.count_published(&bt_id, &prefix, "REJECT").await.unwrap(),
            2,
            "count: this task's REJECTs; a repeated record keeps the first"
        );
        assert_eq!(self.store.count_published(&bt_id, &prefix, "REVIEW").await.unwrap(), 1);
        assert!(
            !self
                .store
                .is_published(&self.bt_id("elsewhere"), &format!("{prefix}1"))
                .await
                .unwrap(),
            "per btId"
        );
    }
}

fn end() -> StreamEnd {
    StreamEnd {
        code: Some(3005),
        reason: "TOKEN_INVALID_OR_EXPIRED".into(),
        stream_time: Some(600),
    }
}
