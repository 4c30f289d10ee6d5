//! The conformance suite of [`TaskStore`]: one set of cases that the
//! in-memory store (the domain tests' fake) and the DynamoDB store (against
//! moto, in the end-to-end tests) both run, so the fake cannot drift from
//! the real store. Each case uses its own btIds, so one store serves them all.

use crate::domain::ProviderId;
use crate::domain::task::{
    Evidence, EvidenceObject, EvidenceState, Open, Owner, Published, Reports, Stray, StreamEnd, Task, TaskStatus,
    end_reason,
};
use crate::ports::{Claim, OpenFilter, Ownership, Progress, StoreError, TaskStore};
use std::collections::BTreeSet;
use std::time::Duration;
use time::OffsetDateTime;

/// Runs every case against `store`; panics naming the first case that fails.
pub async fn check_task_store<S: TaskStore>(store: &S, provider: ProviderId) {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let cases = Cases { store, provider, run };
    cases.claim().await;
    cases.tasks_are_kept_by_id().await;
    cases.take_over().await;
    cases.abandon().await;
    cases.activate_fail_release().await;
    cases.find_by_provider_task().await;
    cases.close().await;
    cases.end().await;
    cases.progress().await;
    cases.stale().await;
    cases.strays().await;
    cases.ownership().await;
    cases.open_listing().await;
    cases.published_records().await;
}

struct Cases<'a, S> {
    store: &'a S,
    provider: ProviderId,
    run: String,
}

const LEASE: Duration = Duration::from_secs(30);
const NO_REPORTS: Reports = Reports {
    every_segment: false,
    stream_end: false,
};
const EVERYTHING: Reports = Reports {
    every_segment: true,
    stream_end: true,
};

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).expect("in range")
}

fn end(code: Option<i64>, reason: &str) -> StreamEnd {
    StreamEnd {
        code,
        reason: reason.to_owned(),
        stream_time: code.map(|_| 600),
    }
}

fn token_expired() -> StreamEnd {
    end(Some(3005), "TOKEN_INVALID_OR_EXPIRED")
}

impl<S: TaskStore> Cases<'_, S> {
    fn bt_id(&self, case: &str) -> String {
        format!("conformance-{}-{case}", self.run)
    }

    fn starting(&self, case: &str, now: OffsetDateTime) -> Task {
        Task::starting(&self.bt_id(case), self.provider, now, now + LEASE)
    }

    async fn current(&self, bt_id: &str) -> Task {
        self.store
            .current(bt_id)
            .await
            .expect("current")
            .expect("a current task")
    }

    async fn by_id(&self, task: &Task) -> Task {
        self.store
            .task(&task.bt_id, &task.task_id)
            .await
            .expect("task")
            .expect("the task exists")
    }

    /// A new ACTIVE task for `case` (replacing whatever does not hold the btId).
    async fn active(&self, case: &str, request_id: &str, now: OffsetDateTime) -> Task {
        let task = self.starting(case, now);
        assert_eq!(self.store.claim(&task).await.unwrap(), Claim::Created, "{case}: claim");
        self.store
            .activate(&task, request_id, false, now)
            .await
            .unwrap()
            .expect("activated")
    }

    async fn claim(&self) {
        let first = self.starting("claim", at(0));
        assert_eq!(
            self.store.current(&first.bt_id).await.unwrap(),
            None,
            "claim: nothing before"
        );
        assert_eq!(
            self.store.claim(&first).await.unwrap(),
            Claim::Created,
            "claim: on an empty btId"
        );
        assert_eq!(self.current(&first.bt_id).await, first, "claim: stored as given");

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
            self.current(&first.bt_id).await,
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
        for (status, free) in [
            (TaskStatus::Closed, "claim: a CLOSED task frees the btId"),
            (TaskStatus::Ended, "claim: an ENDED task frees the btId"),
        ] {
            let holder = self.current(&first.bt_id).await;
            let holder = if holder.status == TaskStatus::Starting {
                self.store
                    .activate(&holder, "r-claim-2", false, at(200))
                    .await
                    .unwrap()
                    .unwrap()
            } else {
                holder
            };
            self.store.mark_closed(&holder, at(210)).await.unwrap().expect("closed");
            if status == TaskStatus::Ended {
                self.store
                    .mark_ended(&holder.bt_id, &holder.task_id, &token_expired(), at(220), at(9999))
                    .await
                    .unwrap()
                    .expect("ended");
            }
            let next = self.starting("claim", at(300));
            assert_eq!(self.store.claim(&next).await.unwrap(), Claim::Created, "{free}");
            assert_eq!(
                self.current(&first.bt_id).await,
                next,
                "{free}: the new task is current"
            );
            assert_eq!(
                self.by_id(&holder).await.status,
                status,
                "{free}: the replaced task is kept by id"
            );
        }
        let current = self.current(&first.bt_id).await;
        self.store
            .fail(&current, "refused", None, at(400), at(9999))
            .await
            .unwrap()
            .expect("failed");
        assert_eq!(
            self.store.claim(&self.starting("claim", at(401))).await.unwrap(),
            Claim::Created,
            "claim: a FAILED task frees the btId"
        );
    }

    async fn tasks_are_kept_by_id(&self) {
        let old = self.active("by-id", "r-old", at(0)).await;
        self.store.mark_closed(&old, at(10)).await.unwrap().expect("closed");
        let new = self.active("by-id", "r-new", at(20)).await;
        let ended = self
            .store
            .mark_ended(&old.bt_id, &old.task_id, &token_expired(), at(30), at(9999))
            .await
            .unwrap()
            .expect("the end of a replaced task is recorded on it");
        assert_eq!((ended.status, ended.end_code), (TaskStatus::Ended, Some(3005)));
        assert_eq!(self.by_id(&old).await, ended, "by id: the replaced task as changed");
        assert_eq!(
            self.current(&old.bt_id).await,
            new,
            "by id: the current task is untouched"
        );
        assert_eq!(
            self.store.task(&old.bt_id, &"f".repeat(32)).await.unwrap(),
            None,
            "by id: an unknown id"
        );
        assert_eq!(
            self.store.task(&self.bt_id("elsewhere"), &old.task_id).await.unwrap(),
            None,
            "by id: under its own btId only"
        );
    }

    async fn take_over(&self) {
        let task = self.starting("takeover", at(0));
        self.store.claim(&task).await.unwrap();
        assert_eq!(
            self.store.take_over(&task, NO_REPORTS, at(40), at(10)).await.unwrap(),
            None,
            "take over: not while the lease runs"
        );
        let taken = self
            .store
            .take_over(&task, EVERYTHING, at(60) + LEASE, at(60))
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
        assert!(
            taken.reports_every_segment && taken.reports_stream_end,
            "take over: what the retried start asks for"
        );
        assert_eq!(
            self.store
                .take_over(&task, EVERYTHING, at(61) + LEASE, at(61))
                .await
                .unwrap(),
            None,
            "take over: only one of two racing starts wins"
        );
    }

    async fn abandon(&self) {
        let lone = self.starting("abandon-empty", at(0));
        self.store.claim(&lone).await.unwrap();
        self.store.abandon(&lone).await.unwrap();
        assert_eq!(
            self.store.current(&lone.bt_id).await.unwrap(),
            None,
            "abandon: nothing was there"
        );
        assert_eq!(
            self.store.task(&lone.bt_id, &lone.task_id).await.unwrap(),
            None,
            "abandon: forgotten"
        );

        let earlier = self.active("abandon", "r-earlier", at(0)).await;
        let earlier = self
            .store
            .mark_ended(&earlier.bt_id, &earlier.task_id, &token_expired(), at(5), at(9999))
            .await
            .unwrap()
            .unwrap();
        let claimed = self.starting("abandon", at(10));
        assert_eq!(self.store.claim(&claimed).await.unwrap(), Claim::Created);
        self.store.abandon(&claimed).await.unwrap();
        assert_eq!(
            self.current(&earlier.bt_id).await,
            earlier,
            "abandon: the earlier task is current again"
        );
        assert_eq!(self.store.task(&claimed.bt_id, &claimed.task_id).await.unwrap(), None);
        let active = self.active("abandon", "r-later", at(20)).await;
        self.store.abandon(&active).await.unwrap();
        assert_eq!(
            self.current(&active.bt_id).await,
            active,
            "abandon: only a STARTING task"
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
        assert_eq!(active.provider_task_ids, ["r-activate"]);
        assert!(active.adopted_duplicate);
        assert_eq!(active.active_at, Some(at(1)));
        assert_eq!(active.starting_expires_at, None);
        assert_eq!(self.current(&task.bt_id).await, active, "activate: stored");
        assert_eq!(
            self.store.activate(&task, "r-again", false, at(2)).await.unwrap(),
            None,
            "activate: only a STARTING task"
        );
        assert_eq!(
            self.store.fail(&task, "too late", None, at(3), at(9999)).await.unwrap(),
            None
        );
        assert_eq!(
            self.current(&task.bt_id).await.status,
            TaskStatus::Active,
            "fail: only a STARTING task"
        );

        let refused = self.starting("fail", at(0));
        self.store.claim(&refused).await.unwrap();
        let failed = self
            .store
            .fail(&refused, "provider code 1902: bad", None, at(1), at(9999))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.status, TaskStatus::Failed);
        assert_eq!(failed.failure.as_deref(), Some("provider code 1902: bad"));

        // The watchdog fails a start left behind only while its lease stays ended.
        let left = self.starting("fail-left", at(0));
        self.store.claim(&left).await.unwrap();
        self.store.release(&left, at(1)).await.unwrap();
        let renewed = self
            .store
            .take_over(&left, NO_REPORTS, at(700) + LEASE, at(700))
            .await
            .unwrap()
            .expect("taken over");
        assert_eq!(
            self.store
                .fail(&left, "abandoned", Some(at(100)), at(701), at(9999))
                .await
                .unwrap(),
            None,
            "fail: not a start a take-over renewed since the watchdog read it"
        );
        assert_eq!(self.by_id(&renewed).await.status, TaskStatus::Starting);
        let abandoned = self
            .store
            .fail(&left, "abandoned", Some(at(800) + LEASE), at(800), at(9999))
            .await
            .unwrap()
            .expect("fail: a lease ended by the cutoff");
        assert_eq!(abandoned.status, TaskStatus::Failed);

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

    async fn find_by_provider_task(&self) {
        let request_id = format!("r-find-{}", self.run);
        let active = self.active("find", &request_id, at(0)).await;
        assert_eq!(
            self.store.find_by_provider_task(&request_id).await.unwrap(),
            vec![active.clone()]
        );
        let closed = self.store.mark_closed(&active, at(1)).await.unwrap().unwrap();
        self.active("find", &format!("r-find-next-{}", self.run), at(2)).await;
        assert_eq!(
            self.store.find_by_provider_task(&request_id).await.unwrap(),
            vec![closed],
            "find: a replaced task too"
        );
        assert!(
            self.store
                .find_by_provider_task(&format!("unknown-{}", self.run))
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn close(&self) {
        let active = self.active("close", "r-close", at(0)).await;
        let requested = self
            .store
            .request_close(&active, "REQUESTED", at(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                requested.close_requested_at,
                requested.close_reason.as_deref(),
                requested.close_attempts
            ),
            (Some(at(10)), Some("REQUESTED"), 1)
        );
        self.store.close_failed(&requested, "timeout").await.unwrap();
        assert_eq!(self.by_id(&active).await.close_error.as_deref(), Some("timeout"));
        let again = self
            .store
            .request_close(&active, "MAX_DURATION", at(20))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                again.close_requested_at,
                again.close_reason.as_deref(),
                again.close_attempts
            ),
            (Some(at(10)), Some("REQUESTED"), 2),
            "close: the first request's time and reason are kept, attempts counted"
        );
        assert_eq!(again.close_error, None, "close: a new attempt clears the last error");
        assert_eq!(again.status, TaskStatus::Active, "close: requested is not yet closed");
        let closed = self.store.mark_closed(&active, at(30)).await.unwrap().unwrap();
        assert_eq!((closed.status, closed.closed_at), (TaskStatus::Closed, Some(at(30))));
        assert_eq!(
            self.store.mark_closed(&active, at(40)).await.unwrap(),
            None,
            "close: once"
        );
        assert_eq!(
            self.store.request_close(&active, "REQUESTED", at(40)).await.unwrap(),
            None,
            "close: only an ACTIVE task"
        );
        let starting = self.starting("close-starting", at(0));
        self.store.claim(&starting).await.unwrap();
        assert_eq!(
            self.store.mark_closed(&starting, at(1)).await.unwrap(),
            None,
            "close: not a STARTING task"
        );
    }

    async fn end(&self) {
        let active = self.active("end", "r-end", at(0)).await;
        let ended = self
            .store
            .mark_ended(&active.bt_id, &active.task_id, &token_expired(), at(30), at(9999))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ended.status, TaskStatus::Ended);
        assert_eq!(
            (
                ended.end_code,
                ended.end_reason.as_deref(),
                ended.stream_time,
                ended.ended_at
            ),
            (Some(3005), Some("TOKEN_INVALID_OR_EXPIRED"), Some(600), Some(at(30)))
        );
        assert_eq!(
            self.store
                .mark_ended(&active.bt_id, &active.task_id, &end(None, "FINISHED"), at(40), at(9999))
                .await
                .unwrap(),
            None,
            "end: once"
        );

        let closed = self.active("end-guess", "r-guess", at(0)).await;
        self.store.mark_closed(&closed, at(1)).await.unwrap().unwrap();
        let guessed = self
            .store
            .mark_ended(
                &closed.bt_id,
                &closed.task_id,
                &end(None, end_reason::END_NOT_RECEIVED),
                at(700),
                at(9999),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(guessed.end_reason.as_deref(), Some(end_reason::END_NOT_RECEIVED));
        assert_eq!(
            self.store
                .mark_ended(
                    &closed.bt_id,
                    &closed.task_id,
                    &end(None, end_reason::END_NOT_RECEIVED),
                    at(800),
                    at(9999)
                )
                .await
                .unwrap(),
            None,
            "end: the guess once"
        );
        let real = self
            .store
            .mark_ended(&closed.bt_id, &closed.task_id, &token_expired(), at(900), at(9999))
            .await
            .unwrap()
            .expect("end: a real end replaces the guess");
        assert_eq!(
            (real.end_reason.as_deref(), real.end_code),
            (Some("TOKEN_INVALID_OR_EXPIRED"), Some(3005))
        );
        assert_eq!(real.ended_at, Some(at(700)), "end: the first end's time is kept");

        let starting = self.starting("end-starting", at(0));
        self.store.claim(&starting).await.unwrap();
        assert!(
            self.store
                .mark_ended(
                    &starting.bt_id,
                    &starting.task_id,
                    &end(None, "FINISHED"),
                    at(1),
                    at(9999)
                )
                .await
                .unwrap()
                .is_some(),
            "end: a STARTING task can end (its activation was lost)"
        );
    }

    async fn progress(&self) {
        let active = self.active("progress", "r-progress", at(0)).await;
        let record = |provider_task: &'static str, segment: u64, seconds: i64| {
            self.store
                .record_progress(&active.bt_id, &active.task_id, provider_task, segment, at(seconds))
        };
        assert_eq!(record("r-progress", 7, 10).await.unwrap(), Progress::Recorded);
        let seen = self.by_id(&active).await;
        assert_eq!((seen.segments_seen, seen.progress_at), (7, Some(at(10))));
        assert_eq!(
            record("r-progress", 3, 20).await.unwrap(),
            Progress::Unchanged,
            "progress: never lowered"
        );
        assert_eq!(
            record("r-stray", 99, 20).await.unwrap(),
            Progress::Stray,
            "progress: not from a stray"
        );
        assert_eq!(self.by_id(&active).await.segments_seen, 7);
        assert_eq!(
            self.store
                .record_progress(&active.bt_id, &"f".repeat(32), "r-progress", 99, at(20))
                .await
                .unwrap(),
            Progress::Unchanged,
            "progress: only an existing task"
        );
        let starting = self.starting("progress-starting", at(0));
        self.store.claim(&starting).await.unwrap();
        assert_eq!(
            self.store
                .record_progress(&starting.bt_id, &starting.task_id, "r-unknown-yet", 1, at(1))
                .await
                .unwrap(),
            Progress::Recorded,
            "progress: while STARTING the current provider task is not known yet"
        );
    }

    async fn stale(&self) {
        let active = self.active("stale", "r-stale", at(0)).await;
        assert!(self.store.note_stale(&active, at(200)).await.unwrap(), "stale: noted");
        assert_eq!(self.by_id(&active).await.stale_notified_at, Some(at(200)));
        assert!(
            !self.store.note_stale(&active, at(260)).await.unwrap(),
            "stale: once for what was read"
        );
        self.store
            .record_progress(&active.bt_id, &active.task_id, "r-stale", 5, at(300))
            .await
            .unwrap();
        let fresh = self.by_id(&active).await;
        assert!(
            self.store.note_stale(&fresh, at(500)).await.unwrap(),
            "stale: a new silence is noted again"
        );
    }

    async fn strays(&self) {
        let task = self.active("stray", "r-current", at(0)).await;
        let stray = Stray {
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
            provider: self.provider,
            provider_task_id: format!("r-stray-{}", self.run),
            recorded_at: at(10),
            stopped_at: None,
            stop_attempts: 0,
        };
        assert!(self.store.record_stray(&stray).await.unwrap(), "stray: recorded");
        assert!(!self.store.record_stray(&stray).await.unwrap(), "stray: once");
        let open_strays = || async {
            let mut found = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = self.store.open(OpenFilter::All, cursor.as_deref(), 50).await.unwrap();
                found.extend(page.items.into_iter().filter_map(|item| match item {
                    Open::Stray(known) if known.provider_task_id == stray.provider_task_id => Some(known),
                    _ => None,
                }));
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => return found,
                }
            }
        };
        assert_eq!(open_strays().await, vec![stray.clone()], "stray: open");
        // The same provider task seen on another btId's task is that btId's stray.
        let elsewhere = Stray {
            bt_id: self.bt_id("stray-elsewhere"),
            ..stray.clone()
        };
        assert!(self.store.record_stray(&elsewhere).await.unwrap(), "stray: per btId");
        self.store
            .stray_stop_attempted(&elsewhere, true, at(15), at(9999))
            .await
            .unwrap();
        self.store
            .stray_stop_attempted(&stray, false, at(20), at(9999))
            .await
            .unwrap();
        let attempted = open_strays().await;
        assert_eq!(attempted.len(), 1, "stray: open until stopped");
        assert_eq!(attempted[0].stop_attempts, 1);
        self.store
            .stray_stop_attempted(&stray, true, at(30), at(9999))
            .await
            .unwrap();
        assert!(open_strays().await.is_empty(), "stray: stopped, no longer open");
    }

    async fn ownership(&self) {
        let owner = |case: &str, task_id: &str| Owner {
            provider: self.provider,
            provider_task_id: format!("r-owned-{}", self.run),
            bt_id: self.bt_id(case),
            task_id: task_id.to_owned(),
        };
        let first = owner("owner-a", "task-1");
        assert_eq!(
            self.store
                .provider_task_owner(self.provider, &first.provider_task_id)
                .await
                .unwrap(),
            None,
            "ownership: none at first"
        );
        assert_eq!(
            self.store.own_provider_task(&first, at(9999)).await.unwrap(),
            Ownership::Owned
        );
        assert_eq!(
            self.store.own_provider_task(&first, at(9999)).await.unwrap(),
            Ownership::Owned,
            "ownership: again, idempotently"
        );
        let other = owner("owner-b", "task-2");
        assert_eq!(
            self.store.own_provider_task(&other, at(9999)).await.unwrap(),
            Ownership::HeldBy(first.clone()),
            "ownership: never two btIds"
        );
        let later = owner("owner-a", "task-3");
        assert_eq!(
            self.store.own_provider_task(&later, at(9999)).await.unwrap(),
            Ownership::Owned,
            "ownership: a later task of the same btId takes it over"
        );
        assert_eq!(
            self.store
                .provider_task_owner(self.provider, &first.provider_task_id)
                .await
                .unwrap(),
            Some(later)
        );
    }

    async fn open_listing(&self) {
        let ours = |items: Vec<Open>, prefix: &str| -> Vec<Task> {
            items
                .into_iter()
                .filter_map(|item| match item {
                    Open::Task(task) if task.bt_id.starts_with(prefix) => Some(*task),
                    _ => None,
                })
                .collect()
        };
        let prefix = self.bt_id("list-");
        let starting = self.starting("list-starting", at(0));
        self.store.claim(&starting).await.unwrap();
        let active = self.active("list-active", "r-list-active", at(0)).await;
        let closed = self.active("list-closed", "r-list-closed", at(0)).await;
        let closed = self.store.mark_closed(&closed, at(1)).await.unwrap().unwrap();
        let ended = self.active("list-ended", "r-list-ended", at(0)).await;
        self.store
            .mark_ended(&ended.bt_id, &ended.task_id, &token_expired(), at(1), at(9999))
            .await
            .unwrap();
        let mut everything = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = self.store.open(OpenFilter::Tasks, cursor.as_deref(), 2).await.unwrap();
            assert!(page.items.len() <= 2, "open: a page holds at most the limit");
            everything.extend(ours(page.items, &prefix));
            pages += 1;
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert!(pages >= 2, "open: the listing pages");
        let ids: BTreeSet<&str> = everything.iter().map(|task| task.task_id.as_str()).collect();
        let expected: BTreeSet<&str> = [&starting, &active, &closed]
            .iter()
            .map(|task| task.task_id.as_str())
            .collect();
        assert_eq!(
            ids, expected,
            "open: the STARTING, ACTIVE and CLOSED tasks, once each; not the ENDED one"
        );
        assert_eq!(everything.len(), 3, "open: no task twice");
        let mut actives = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .open(OpenFilter::Status(TaskStatus::Active), cursor.as_deref(), 100)
                .await
                .unwrap();
            actives.extend(ours(page.items, &prefix));
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(actives, vec![active], "open: by status");
        assert!(
            matches!(
                self.store.open(OpenFilter::Tasks, Some("not a cursor"), 10).await,
                Err(StoreError::BadCursor(_))
            ),
            "open: a cursor the store did not give"
        );
    }

    async fn published_records(&self) {
        let bt_id = self.bt_id("published");
        let record = |event_id: &str, risk_level: Option<&str>, seconds: i64| Published {
            bt_id: bt_id.clone(),
            event_id: event_id.to_owned(),
            request_id: "r-pub".into(),
            kind: if risk_level.is_some() { "segment" } else { "streamEnd" }.to_owned(),
            risk_level: risk_level.map(str::to_owned),
            at: at(seconds),
            expires_at: at(seconds + 3600),
            event: Some(format!(r#"{{"eventId":"{event_id}"}}"#)),
            provider_result: risk_level.map(|_| r#"{"audioDetail":{}}"#.to_owned()),
            evidence: None,
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

        // The record as kept, and the evidence recorded on it once.
        let first = format!("{prefix}1");
        let kept = self.store.published(&bt_id, &first).await.unwrap().expect("kept");
        assert_eq!(
            kept,
            record(&first, Some("REJECT"), 0),
            "published: as recorded, the first record"
        );
        assert_eq!(self.store.published(&bt_id, "nothing").await.unwrap(), None);
        let evidence = Evidence {
            state: EvidenceState::AudioFailed,
            objects: vec![EvidenceObject {
                role: "event".into(),
                key: format!("evidence/{bt_id}/{first}/event.json"),
                bytes: 123,
            }],
            failure: Some("the audio could not be fetched".into()),
            archived_at: at(60),
        };
        assert!(self.store.record_evidence(&bt_id, &first, &evidence).await.unwrap());
        let later = Evidence {
            state: EvidenceState::Archived,
            ..evidence.clone()
        };
        assert!(
            !self.store.record_evidence(&bt_id, &first, &later).await.unwrap(),
            "evidence: once"
        );
        assert_eq!(
            self.store.published(&bt_id, &first).await.unwrap().unwrap().evidence,
            Some(evidence)
        );
        assert!(
            !self.store.record_evidence(&bt_id, "nothing", &later).await.unwrap(),
            "evidence: only for a published event"
        );

        // The history: newest first, a page at a time.
        let history = self.bt_id("history");
        for (index, seconds) in [(1, 10), (2, 30), (3, 20), (4, 40), (5, 50)] {
            let mut event = record(&format!("{prefix}{index}"), Some("REJECT"), seconds);
            event.bt_id = history.clone();
            self.store.record_published(&event).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .published_events(&history, cursor.as_deref(), 2)
                .await
                .unwrap();
            assert!(page.items.len() <= 2, "history: at most the limit");
            seen.extend(page.items.into_iter().map(|item| item.event_id));
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let ids: Vec<String> = [5, 4, 2, 3, 1].iter().map(|index| format!("{prefix}{index}")).collect();
        assert_eq!(seen, ids, "history: newest first, each once, this btId's only");
        assert!(
            matches!(
                self.store.published_events(&history, Some("not-a-cursor"), 2).await,
                Err(StoreError::BadCursor(_))
            ),
            "history: a cursor the store did not give"
        );
    }
}
