//! Simulated time. One factor scales every interval (segment length, pull
//! retries, callback backoff), so a 10-minute stream runs in a second at 600.
//! Wall-clock deadlines of *clients* (their request timeouts) are never scaled.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Converts provider time to real time and reports simulated timestamps.
#[derive(Debug, Clone)]
pub struct Clock {
    scale: f64,
    started: Instant,
    epoch_ms: i64,
}

impl Clock {
    /// `scale` is how many simulated seconds pass per real second (≥ 1e-3).
    pub fn new(scale: f64) -> Self {
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        Clock {
            scale: scale.max(1e-3),
            started: Instant::now(),
            epoch_ms,
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// How long a simulated interval lasts in real time.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.scale)
    }

    /// Waits for a simulated interval.
    pub async fn sleep(&self, simulated: Duration) {
        tokio::time::sleep(self.real(simulated)).await;
    }

    /// Simulated Unix time in milliseconds: starts at the real time of start-up
    /// and runs `scale` times faster.
    pub fn now_ms(&self) -> i64 {
        let simulated = self.started.elapsed().as_secs_f64() * self.scale * 1000.0;
        self.epoch_ms + simulated as i64
    }
}

/// Real Unix time in seconds, for signatures (never scaled: clients check it).
pub fn wall_clock_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64)
}

/// Real Unix time in milliseconds, for attempt records.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_shrink_by_the_scale() {
        let clock = Clock::new(600.0);
        assert_eq!(clock.real(Duration::from_secs(600)), Duration::from_secs(1));
        assert_eq!(Clock::new(1.0).real(Duration::from_secs(10)), Duration::from_secs(10));
        assert_eq!(Clock::new(0.0).scale(), 1e-3, "a zero scale would stop time");
    }
}
