//! What `/api/status` says about the central control, computed from the
//! records in the store at a given moment: whether each credential is
//! cached and usable, its age and time left, when the next refresh-ahead
//! is due, a failure being held for waiters, forced refreshes used today.
//! Never a token value: the figures are built without reading it.

use serde::Serialize;

use super::cache::{
    beijing_day, Cached, ForceLog, LeaseHolder, FORCE_MAX_PER_DAY, REFRESH_AHEAD_SECS,
};

/// One credential (the access_token or the jsapi_ticket).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialStatus {
    /// Something is cached (perhaps expired or rejected).
    pub cached: bool,
    /// It can be used right now.
    pub usable: bool,
    /// How many times it was fetched from WeChat since the store was empty
    /// (the cache generation).
    pub fetches: u64,
    /// Seconds since it was fetched.
    pub age_s: Option<u64>,
    /// Seconds it stays valid.
    pub expires_in: u64,
    /// When the next refresh-ahead is due (seconds since the epoch), and in
    /// how many seconds (0: due now, the next request refreshes it).
    pub refresh_at: Option<u64>,
    /// Seconds until `refresh_at`.
    pub refresh_in: Option<u64>,
    /// WeChat rejected it (40001…) and nobody has fetched a new one yet.
    pub rejected: bool,
    /// A fetch is under way (a lease is held, no failure recorded).
    pub refreshing: bool,
    /// The last fetch failed; waiters get this error until `until`.
    pub held_failure: Option<HeldFailure>,
}

/// A failed fetch, handed to waiters for a while before anyone retries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldFailure {
    /// `upstream`, `transport`, `timeout`, …
    pub kind: super::cache::FailureKind,
    /// WeChat's errcode, for `upstream`.
    pub errcode: Option<i64>,
    /// When it failed (seconds since the epoch).
    pub at: u64,
    /// When the next request may retry (seconds since the epoch).
    pub until: u64,
}

/// The figures for `entry` with the lease `holder` of its generation, at `now_ms`.
pub fn credential<V>(
    entry: Option<&Cached<V>>,
    holder: Option<&LeaseHolder>,
    now_ms: u64,
) -> CredentialStatus {
    let now = now_ms / 1000;
    let held_failure = holder
        .and_then(|h| h.failure.as_ref())
        .map(|f| HeldFailure {
            kind: f.kind,
            errcode: (f.kind == super::cache::FailureKind::Upstream).then_some(f.errcode),
            at: f.at_ms / 1000,
            until: f.held_until_ms() / 1000,
        });
    let refreshing = holder.is_some_and(|h| h.failure.is_none());
    let Some(e) = entry else {
        return CredentialStatus {
            cached: false,
            usable: false,
            fetches: 0,
            age_s: None,
            expires_in: 0,
            refresh_at: None,
            refresh_in: None,
            rejected: false,
            refreshing,
            held_failure,
        };
    };
    let usable = !e.invalid && now < e.expires_at;
    let refresh_at = usable.then(|| {
        e.expires_at
            .saturating_sub(REFRESH_AHEAD_SECS)
            .max(e.refresh_after)
    });
    CredentialStatus {
        cached: true,
        usable,
        fetches: e.generation,
        age_s: (e.fetched_at > 0).then(|| now.saturating_sub(e.fetched_at)),
        expires_in: e.expires_at.saturating_sub(now),
        refresh_in: refresh_at.map(|at| at.saturating_sub(now)),
        refresh_at,
        rejected: e.invalid,
        refreshing,
        held_failure,
    }
}

/// Forced `stable_token` refreshes against WeChat's daily limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForcedRefreshes {
    /// Used today (Beijing time, as WeChat counts).
    pub today: u32,
    /// The most wxmp uses in a day.
    pub limit: u32,
    /// The last one (seconds since the epoch).
    pub last_at: Option<u64>,
}

/// Today's forced refreshes from the log, at `now` (seconds).
pub fn forced_refreshes(log: Option<&ForceLog>, now: u64) -> ForcedRefreshes {
    ForcedRefreshes {
        today: log
            .filter(|l| l.day == beijing_day(now))
            .map_or(0, |l| l.count),
        limit: FORCE_MAX_PER_DAY,
        last_at: log.map(|l| l.last_at).filter(|at| *at > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cache::{FailureKind, StoredFailure};
    use crate::core::error::Error;

    const NOW: u64 = 1_700_000_000;

    fn entry(fetched_at: u64, expires_at: u64) -> Cached<u64> {
        Cached {
            value: 0,
            expires_at,
            generation: 3,
            invalid: false,
            token_generation: None,
            refresh_after: 0,
            fetched_at,
        }
    }

    #[test]
    fn a_fresh_token_says_when_it_refreshes() {
        let s = credential(Some(&entry(NOW - 100, NOW + 7100)), None, NOW * 1000);
        assert_eq!(
            (s.cached, s.usable, s.fetches, s.age_s, s.expires_in),
            (true, true, 3, Some(100), 7100)
        );
        assert_eq!((s.refresh_at, s.refresh_in), (Some(NOW + 6800), Some(6800)));
        assert!(!s.rejected && !s.refreshing && s.held_failure.is_none());
    }

    #[test]
    fn refresh_ahead_due_and_rechecks_are_told_apart() {
        let due = credential(Some(&entry(NOW - 7000, NOW + 200)), None, NOW * 1000);
        assert_eq!((due.usable, due.refresh_in), (true, Some(0)));
        let rechecking = Cached {
            refresh_after: NOW + 30,
            ..entry(NOW - 7000, NOW + 200)
        };
        let s = credential(Some(&rechecking), None, NOW * 1000);
        assert_eq!((s.refresh_at, s.refresh_in), (Some(NOW + 30), Some(30)));
    }

    #[test]
    fn rejected_expired_missing_and_held_failures_show() {
        let rejected = Cached {
            invalid: true,
            ..entry(NOW - 10, NOW + 7190)
        };
        let s = credential(Some(&rejected), None, NOW * 1000);
        assert_eq!((s.usable, s.rejected, s.refresh_at), (false, true, None));
        let expired = credential(Some(&entry(NOW - 8000, NOW - 800)), None, NOW * 1000);
        assert_eq!((expired.usable, expired.expires_in), (false, 0));
        let failure = StoredFailure::new(
            &Error::Upstream {
                errcode: 40164,
                errmsg: "invalid ip 1.2.3.4".into(),
            },
            NOW * 1000 - 5_000,
        );
        let holder = LeaseHolder {
            id: "h".into(),
            since_ms: NOW * 1000 - 6_000,
            failure,
        };
        let s = credential::<u64>(None, Some(&holder), NOW * 1000);
        assert_eq!((s.cached, s.fetches, s.refreshing), (false, 0, false));
        let held = s.held_failure.unwrap();
        assert_eq!(
            (held.kind, held.errcode, held.at, held.until),
            (FailureKind::Upstream, Some(40164), NOW - 5, NOW + 25)
        );
        let working = LeaseHolder {
            failure: None,
            ..holder
        };
        assert!(credential::<u64>(None, Some(&working), NOW * 1000).refreshing);
    }

    #[test]
    fn forced_refreshes_count_for_today_only() {
        let log = ForceLog {
            last_at: NOW - 60,
            day: beijing_day(NOW),
            count: 2,
        };
        assert_eq!(
            forced_refreshes(Some(&log), NOW),
            ForcedRefreshes {
                today: 2,
                limit: 10,
                last_at: Some(NOW - 60)
            }
        );
        assert_eq!(forced_refreshes(Some(&log), NOW + 86_400).today, 0);
        assert_eq!(forced_refreshes(None, NOW).today, 0);
    }
}
