//! Fault switches, set through `POST /_sim/faults`:
//!
//! ```json
//! {"fault": "code", "code": 1903, "api": "start", "times": 2}
//! {"fault": "stall", "millis": 6000, "api": "start", "times": 1}
//! {"fault": "dropResponse", "api": "start", "times": 1}
//! {"fault": "refuseConnections", "millis": 500}
//! ```
//! `api` limits a fault to one API (`start`, `close`, `closeVideo`, `zego`,
//! `audio`: the segment audio links, where `code` is an HTTP status);
//! `times` limits how many requests it hits (unlimited when absent, until
//! `DELETE /_sim/faults`).

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The APIs a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Api {
    Start,
    Close,
    CloseVideo,
    Zego,
    /// The segment audio served at the links in callbacks (`/_sim/audio/`):
    /// `code` answers that HTTP status, `stall` holds the answer.
    Audio,
}

/// One fault switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "camelCase")]
pub enum Fault {
    /// Answer with this provider code (e.g. 1903) instead of doing the work.
    #[serde(rename_all = "camelCase")]
    Code {
        code: i64,
        api: Option<Api>,
        times: Option<u32>,
    },
    /// Hold the answer this long (real time), past the client's timeout.
    #[serde(rename_all = "camelCase")]
    Stall {
        millis: u64,
        api: Option<Api>,
        times: Option<u32>,
    },
    /// Do the work (accept the task) but never answer: the connection is held
    /// for `holdMillis` (default 30 s) and then closed without a response.
    #[serde(rename_all = "camelCase")]
    DropResponse {
        api: Option<Api>,
        times: Option<u32>,
        hold_millis: Option<u64>,
    },
    /// Refuse new connections for this long (real time).
    #[serde(rename_all = "camelCase")]
    RefuseConnections { millis: u64 },
}

/// What a request must suffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Code(i64),
    Stall(Duration),
    DropResponse(Duration),
}

#[derive(Debug, Default)]
pub struct Faults {
    active: Vec<(Fault, Option<u32>)>,
    refuse_until: Option<Instant>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        if let Fault::RefuseConnections { millis } = fault {
            self.refuse_until = Some(Instant::now() + Duration::from_millis(millis));
            return;
        }
        let times = match &fault {
            Fault::Code { times, .. } | Fault::Stall { times, .. } | Fault::DropResponse { times, .. } => *times,
            Fault::RefuseConnections { .. } => None,
        };
        self.active.push((fault, times));
    }

    pub fn clear(&mut self) {
        *self = Faults::default();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.active.iter().map(|(fault, _)| fault.clone()).collect()
    }

    /// Until when new connections are refused, if they are.
    pub fn refusing_until(&self) -> Option<Instant> {
        self.refuse_until.filter(|until| *until > Instant::now())
    }

    /// The effect for a request to `api`, using up one of the fault's `times`.
    pub fn take(&mut self, api: Api) -> Option<Effect> {
        let index = self.active.iter().position(|(fault, _)| match fault {
            Fault::Code { api: target, .. }
            | Fault::Stall { api: target, .. }
            | Fault::DropResponse { api: target, .. } => target.is_none_or(|target| target == api),
            Fault::RefuseConnections { .. } => false,
        })?;
        let (fault, remaining) = &mut self.active[index];
        let effect = match fault {
            Fault::Code { code, .. } => Effect::Code(*code),
            Fault::Stall { millis, .. } => Effect::Stall(Duration::from_millis(*millis)),
            Fault::DropResponse { hold_millis, .. } => {
                Effect::DropResponse(Duration::from_millis(hold_millis.unwrap_or(30_000)))
            }
            Fault::RefuseConnections { .. } => unreachable!("never matched above"),
        };
        if let Some(left) = remaining {
            *left -= 1;
            if *left == 0 {
                self.active.remove(index);
            }
        }
        Some(effect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_their_api_and_run_out() {
        let mut faults = Faults::default();
        faults.add(Fault::Code {
            code: 1903,
            api: Some(Api::Close),
            times: Some(2),
        });
        faults.add(Fault::Stall {
            millis: 10,
            api: None,
            times: None,
        });
        assert_eq!(faults.take(Api::Close), Some(Effect::Code(1903)));
        assert_eq!(faults.take(Api::Start), Some(Effect::Stall(Duration::from_millis(10))));
        assert_eq!(faults.take(Api::Close), Some(Effect::Code(1903)));
        assert_eq!(
            faults.take(Api::Close),
            Some(Effect::Stall(Duration::from_millis(10))),
            "the code fault ran out"
        );
        faults.clear();
        assert_eq!(faults.take(Api::Start), None);
    }

    #[test]
    fn faults_parse_from_the_control_json() {
        let fault: Fault = serde_json::from_str(r#"{"fault": "dropResponse", "api": "start", "times": 1}"#).unwrap();
        assert_eq!(
            fault,
            Fault::DropResponse {
                api: Some(Api::Start),
                times: Some(1),
                hold_millis: None
            }
        );
        let mut faults = Faults::default();
        faults.add(serde_json::from_str(r#"{"fault": "refuseConnections", "millis": 60000}"#).unwrap());
        assert!(faults.refusing_until().is_some());
    }
}
