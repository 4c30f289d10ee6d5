//! Every environment variable the functions read: name, meaning, default and
//! the functions that read it. The one place each is described: the
//! settings readers read through these, the template test holds
//! `template.yaml` to them, and the README's table is generated from them
//! (a test compares the two).

use crate::functions::Function::{self, Archiver, Callback, Close, History, Start, Watchdog};

/// One environment variable.
#[derive(Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub meaning: &'static str,
    /// Used when the variable is unset or blank.
    pub default: Option<&'static str>,
    /// The functions a deployment sets it for; empty for a local-only
    /// substitute (a secret's plain value) that a deployment never sets.
    pub functions: &'static [Function],
}

const ALL: &[Function] = &[Start, Close, Callback, Watchdog, Archiver, History];
/// The functions that read or write the evidence archive.
const EVIDENCE: &[Function] = &[Archiver, History];
/// The functions that call providers.
const CONTROL: &[Function] = &[Start, Close, Watchdog];
const STOPS: &[Function] = &[Close, Watchdog];
const LOCAL: &[Function] = &[];

macro_rules! variables {
    ($($(#[$doc:meta])* $name:ident: $functions:expr, $default:expr, $meaning:literal;)+) => {
        $($(#[$doc])* pub const $name: Variable = Variable {
            name: stringify!($name),
            meaning: $meaning,
            default: $default,
            functions: $functions,
        };)+
        /// Every variable, in the README's order.
        pub const VARIABLES: &[&Variable] = &[$(&$name),+];
    };
}

variables! {
    TABLE_NAME: ALL, None, "the DynamoDB table of tasks and published events (required)";
    QUEUE_URL: &[Callback, Watchdog], None, "the SQS queue events go to (required by callback and watchdog); FIFO when it ends in `.fifo`";
    CALLBACK_TOKEN_KEY_PARAMETER: &[Start, Callback], None, "SSM SecureString holding the key that signs callback tokens (at least 16 bytes); this or `CALLBACK_TOKEN_KEY` is required";
    CALLBACK_TOKEN_KEY: LOCAL, None, "the callback-token key itself (local runs)";
    CALLBACK_TOKEN_PREVIOUS_KEY_PARAMETER: &[Callback], None, "SSM SecureString holding the previous callback-token key, during a key rotation: tokens it signed still verify (see the README's rotation procedure)";
    CALLBACK_TOKEN_PREVIOUS_KEY: LOCAL, None, "the previous callback-token key itself (local runs)";
    CALLBACK_BASE_URL: &[Start], None, "public base URL of the callback route; when unset, `https://` and the API's own domain as API Gateway reports it (never a request header)";
    PROVIDER: CONTROL, Some("deepcleer"), "the deployment's provider (`deepcleer` or `zego`); a start may name another, a close by provider task id uses it";
    PROVIDER_START_TIMEOUT_MS: &[Start], Some("5000"), "how long a provider's start may take (DeepCleer recommends 5 s)";
    PROVIDER_CLOSE_TIMEOUT_MS: STOPS, Some("1000"), "how long a provider's stop may take (DeepCleer recommends 1 s for audio)";
    START_ATTEMPTS: &[Start], Some("2"), "attempts at a start that gets no answer, for providers that recognise a resubmission (1–10)";
    CLOSE_ATTEMPTS: &[Close], Some("3"), "attempts at a stop on timeouts and transient refusals (1–10)";
    STARTING_LEASE_SECS: &[Start], Some("30"), "how long a STARTING task holds its btId against another start";
    PUBLISHED_RISK_LEVELS: &[Callback], Some("REJECT"), "comma-separated risk levels published to the queue";
    EVENT_RETENTION_DAYS: &[Start, Close, Callback, Watchdog], Some("7"), "how long published-event records (for deduplication) and finished tasks are kept";
    PROGRESS_INTERVAL_SECS: &[Callback], Some("60"), "at most one progress write per task per interval and instance (keep it well under `STALE_AFTER_SECS`)";
    STALE_AFTER_SECS: &[Watchdog], Some("180"), "an ACTIVE task that calls back for every segment and is silent this long gets a `streamStale` event";
    MAX_STREAM_SECS: &[Start, Watchdog], Some("86400"), "a task open longer than this is closed (`MAX_DURATION`) with a `streamClosed` event; 0 turns it off. Callback tokens expire a day after it (30 days when off)";
    GRACE_SECS: &[Watchdog], Some("600"), "how long the watchdog waits for what should have come: the end after a close (then `END_NOT_RECEIVED`), a retry of a start whose lease ended (then FAILED)";
    CLOSE_RETRY_SECS: &[Watchdog], Some("3600"), "how long the watchdog retries a close (or a stray's stop) that fails before letting the task go";
    DEEPCLEER_CLUSTER: CONTROL, Some("silicon-valley"), "DeepCleer's audio cluster: `silicon-valley` or `singapore`";
    DEEPCLEER_BASE_URL: CONTROL, None, "overrides the audio cluster's base URL (a proxy; the local run points it at the simulator)";
    DEEPCLEER_VIDEO_CLUSTER: STOPS, Some("singapore"), "DeepCleer's video cluster, for closing video tasks: `shanghai` or `singapore`";
    DEEPCLEER_VIDEO_BASE_URL: STOPS, None, "overrides the video cluster's base URL";
    PROVIDER_VIDEO_CLOSE_TIMEOUT_MS: STOPS, Some("7000"), "how long DeepCleer's video close may take (it recommends 7 s)";
    DEEPCLEER_ACCESS_KEY_PARAMETER: CONTROL, None, "SSM SecureString holding DeepCleer's accessKey; DeepCleer is off without it (or `DEEPCLEER_ACCESS_KEY`)";
    DEEPCLEER_ACCESS_KEY: LOCAL, None, "DeepCleer's accessKey itself (local runs)";
    DEFAULT_APP_ID: &[Start], None, "DeepCleer `appId` when a start has none";
    DEFAULT_EVENT_ID: &[Start], None, "DeepCleer `eventId` when a start has none";
    ZEGO_BASE_URL: CONTROL, Some("https://rtc-api.zego.im"), "Zego's server API (regional hosts exist)";
    ZEGO_API_SECRET_PARAMETER: CONTROL, None, "SSM SecureString `{\"appId\": 123, \"serverSecret\": \"…\"}`; Zego starts and stops are off without it (or the two below)";
    ZEGO_APP_ID: LOCAL, None, "Zego's AppId (local runs, with `ZEGO_SERVER_SECRET`)";
    ZEGO_SERVER_SECRET: LOCAL, None, "Zego's ServerSecret (local runs)";
    ZEGO_CALLBACK_SECRET_PARAMETER: &[Start, Callback], None, "SSM SecureString holding Zego's callback secret; Zego callbacks are refused without it (or `ZEGO_CALLBACK_SECRET`), and start refuses to run Zego starts without it (it reads only the name)";
    ZEGO_CALLBACK_SECRET: LOCAL, None, "Zego's callback secret itself (local runs)";
    ZEGO_DEFAULT_EVENT_ID: &[Start], Some("audio_room"), "Zego `EventId` when the start's `eventId` is not one of Zego's";
    EVIDENCE_BUCKET: EVIDENCE, None, "the S3 bucket of the evidence archive (required by archiver and history)";
    EVIDENCE_KMS_KEY_ID: &[Archiver], None, "the KMS key the archive's objects are encrypted with (SSE-KMS); SSE-S3 when unset (local runs)";
    EVIDENCE_FETCH_TIMEOUT_MS: &[Archiver], Some("10000"), "how long one fetch of a segment's audio may take";
    EVIDENCE_FETCH_ATTEMPTS: &[Archiver], Some("3"), "attempts at a fetch that fails for a reason worth another (1–10)";
    EVIDENCE_FETCH_BACKOFF_MS: &[Archiver], Some("1000"), "the wait before the second attempt, doubled for each next one";
    EVIDENCE_MAX_BYTES: &[Archiver], Some("20971520"), "the most one fetched audio may weigh";
    EVIDENCE_ALLOW_HTTP: &[Archiver], Some("false"), "`true` lets the archiver fetch plain-http links (local runs); https only otherwise";
    EVIDENCE_LINK_SECS: &[History], Some("900"), "how long the history's links to archived objects stay valid, in seconds (at most a week)";
    LOG_LEVEL: ALL, Some("info"), "log filter: a level, or per-target levels (`warn,streamguard_core=debug`)";
    RUST_LOG: LOCAL, None, "the log filter when `LOG_LEVEL` is unset (local runs)";
}

/// The variables `function` reads in a deployment.
pub fn of(function: Function) -> impl Iterator<Item = &'static Variable> {
    VARIABLES
        .iter()
        .copied()
        .filter(move |variable| variable.functions.contains(&function))
}

/// The README's table of variables.
pub fn markdown_table() -> String {
    let mut table = String::from("| variable | default | functions | meaning |\n|---|---|---|---|\n");
    for variable in VARIABLES {
        let functions = if variable.functions.is_empty() {
            "local runs".to_owned()
        } else {
            variable
                .functions
                .iter()
                .map(|function| function.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let default = variable
            .default
            .map_or_else(|| "—".to_owned(), |default| format!("`{default}`"));
        table.push_str(&format!(
            "| `{}` | {default} | {functions} | {} |\n",
            variable.name, variable.meaning
        ));
    }
    table
}
