//! The central-control (中控) cache policy for the access_token and the
//! jsapi_ticket, as pure decisions over values read from the shared store.
//!
//! The flow (`flows::credentials`) reads an entry, asks [`freshness`], and
//! when a refresh is due elects one fetcher per cache *generation* with the
//! store's atomic `increment` (the first to reach 1 wins; Spin's SQLite store
//! cannot create-if-absent with compare-and-swap, but its increment is
//! atomic). Losers consult the winner's [`LeaseHolder`] record through
//! [`after_lost_election`]: wait, surface the winner's recent failure, or
//! take over a lease whose holder died.

use serde::{Deserialize, Serialize};

use super::error::Error;
use super::types::AppId;

/// Refresh this long before expiry (WeChat wants ≥ 5 minutes).
pub const REFRESH_AHEAD_SECS: u64 = 300;
/// When a refresh-ahead fetch hands back the same token (stable_token only
/// rotates inside WeChat's own last-5-minutes window), look again this much later.
pub const RECHECK_SECS: u64 = 30;
/// A lease holder that has neither finished nor failed by then is presumed dead.
pub const LEASE_TTL_MS: u64 = 10_000;
/// How long a request waits for another instance's refresh before `busy`;
/// as long as the lease, so a waiter takes over a dead holder itself.
pub const WAIT_BUDGET_MS: u64 = 10_000;
/// How often a waiter re-reads the store.
pub const POLL_INTERVAL_MS: u64 = 20;
/// After a failed fetch, others get the same error this long before one retries.
pub const FAILURE_HOLD_MS: u64 = 1_000;
/// ... and this long when the failure needs a human (IP allow-list, AppSecret, quota).
pub const HUMAN_FAILURE_HOLD_MS: u64 = 30_000;
/// Forced stable_token refreshes: at least this far apart...
pub const FORCE_MIN_INTERVAL_SECS: u64 = 30;
/// ... and at most this many per (Beijing) day; WeChat allows 20.
pub const FORCE_MAX_PER_DAY: u32 = 10;

/// Which shared credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The account's access_token.
    AccessToken,
    /// The JS-SDK jsapi_ticket.
    JsapiTicket,
}

impl Credential {
    fn key_part(self) -> &'static str {
        match self {
            Self::AccessToken => "token",
            Self::JsapiTicket => "ticket",
        }
    }
}

/// A cached credential as stored (JSON) in the key-value store.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    /// The token or ticket.
    pub value: String,
    /// Seconds since the epoch when WeChat stops accepting it.
    pub expires_at: u64,
    /// Counts fetches; elections are per generation.
    pub generation: u64,
    /// Set when WeChat rejected it (40001…): kept, not deleted, so the
    /// generation survives and the next fetcher knows what was rejected.
    #[serde(default)]
    pub invalid: bool,
    /// For tickets: the access-token generation that fetched it.
    #[serde(default)]
    pub token_generation: Option<u64>,
    /// No refresh-ahead before this time (seconds since the epoch).
    #[serde(default)]
    pub refresh_after: u64,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("generation", &self.generation)
            .field("invalid", &self.invalid)
            .field("token_generation", &self.token_generation)
            .field("refresh_after", &self.refresh_after)
            .finish()
    }
}

/// How usable a cache entry is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Use it.
    Fresh,
    /// Use it, and let one instance refresh it in the background of this request.
    RefreshAhead,
    /// Expired or rejected: nobody may use it; one instance must fetch.
    Unusable,
    /// Never fetched (cold store).
    Missing,
}

/// Classifies `entry` at `now` (seconds).
pub fn freshness(entry: Option<&Cached>, now: u64) -> Freshness {
    match entry {
        None => Freshness::Missing,
        Some(e) if e.invalid || now >= e.expires_at => Freshness::Unusable,
        Some(e) if now + REFRESH_AHEAD_SECS >= e.expires_at && now >= e.refresh_after => {
            Freshness::RefreshAhead
        }
        Some(_) => Freshness::Fresh,
    }
}

/// Seconds `entry` remains valid at `now`.
pub fn remaining_secs(entry: &Cached, now: u64) -> u64 {
    entry.expires_at.saturating_sub(now)
}

/// The generation an election is held for: the current entry's, or 0.
pub fn basis(entry: Option<&Cached>) -> u64 {
    entry.map_or(0, |e| e.generation)
}

/// The entry to store after a successful fetch on top of `previous`. When
/// WeChat handed back the still-valid token it had (stable_token before its
/// own rotation window), the next refresh-ahead waits [`RECHECK_SECS`].
pub fn next_entry(
    previous: Option<&Cached>,
    value: String,
    expires_in: u64,
    now: u64,
    token_generation: Option<u64>,
) -> Cached {
    let unchanged = previous.is_some_and(|p| !p.invalid && p.value == value);
    Cached {
        refresh_after: if unchanged { now + RECHECK_SECS } else { 0 },
        value,
        expires_at: now + expires_in,
        generation: basis(previous) + 1,
        invalid: false,
        token_generation,
    }
}

/// True when a waiter can stop: a newer generation is there and usable.
pub fn refreshed_since(entry: Option<&Cached>, basis: u64, now: u64) -> bool {
    entry.is_some_and(|e| {
        e.generation > basis
            && matches!(
                freshness(Some(e), now),
                Freshness::Fresh | Freshness::RefreshAhead
            )
    })
}

/// The entry marked rejected, when it still holds `rejected` (a token
/// already replaced by another instance is left alone).
pub fn invalidated(entry: &Cached, rejected: &str) -> Option<Cached> {
    (!entry.invalid && entry.value == rejected).then(|| Cached {
        invalid: true,
        ..entry.clone()
    })
}

/// True when a ticket was fetched with the access-token generation just dropped.
pub fn ticket_outlived(ticket: &Cached, dropped_token_generation: u64) -> bool {
    !ticket.invalid && ticket.token_generation == Some(dropped_token_generation)
}

/// True when a normal stable_token fetch handed back the very token WeChat
/// just rejected: only a forced refresh can help.
pub fn needs_forced_refresh(previous: Option<&Cached>, fetched: &str) -> bool {
    previous.is_some_and(|p| p.invalid && p.value == fetched)
}

/// Store keys, namespaced by AppID so accounts can share one store.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys for one account.
    pub fn new(app_id: &AppId) -> Self {
        Self {
            prefix: format!("wxmp:{app_id}"),
        }
    }

    /// The cached credential.
    pub fn entry(&self, c: Credential) -> String {
        format!("{}:{}", self.prefix, c.key_part())
    }

    /// The election counter for generation `gen` (holds only the counter).
    pub fn lease(&self, c: Credential, gen: u64) -> String {
        format!("{}:lease:{}:{gen}", self.prefix, c.key_part())
    }

    /// The winner's [`LeaseHolder`] record for generation `gen`.
    pub fn holder(&self, c: Credential, gen: u64) -> String {
        format!("{}:holder:{}:{gen}", self.prefix, c.key_part())
    }

    /// The forced-refresh log.
    pub fn force_log(&self) -> String {
        format!("{}:force-log", self.prefix)
    }

    /// A key under this account's namespace (sessions, logins, dedup).
    pub fn scoped(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }
}

/// Who is fetching a generation, since when, and how it ended if it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// A random id of the holding request.
    pub id: String,
    /// When it took the lease (ms since the epoch).
    pub since_ms: u64,
    /// Its failure, so waiters fail fast with the real reason.
    #[serde(default)]
    pub failure: Option<StoredFailure>,
}

/// An [`Error`] as kept in a lease record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFailure {
    /// When it failed (ms since the epoch).
    pub at_ms: u64,
    /// `upstream`, `bad_answer`, `transport`, `timeout`, `storage`, `config`.
    pub kind: String,
    /// WeChat's errcode for `upstream`.
    #[serde(default)]
    pub errcode: i64,
    /// The message.
    pub message: String,
}

impl StoredFailure {
    /// Records `error` at `now_ms`.
    pub fn new(error: &Error, now_ms: u64) -> Self {
        let (kind, errcode, message) = match error {
            Error::Upstream { errcode, errmsg } => ("upstream", *errcode, errmsg.clone()),
            Error::BadAnswer(m) => ("bad_answer", 0, m.clone()),
            Error::Transport(m) => ("transport", 0, m.clone()),
            Error::Timeout(m) => ("timeout", 0, m.clone()),
            Error::Storage(m) => ("storage", 0, m.clone()),
            Error::Config(m) => ("config", 0, m.clone()),
            other => ("bad_answer", 0, other.to_string()),
        };
        Self {
            at_ms: now_ms,
            kind: kind.into(),
            errcode,
            message,
        }
    }

    /// The error again, as the waiter's own result.
    pub fn to_error(&self) -> Error {
        match self.kind.as_str() {
            "upstream" => Error::Upstream {
                errcode: self.errcode,
                errmsg: self.message.clone(),
            },
            "transport" => Error::Transport(self.message.clone()),
            "timeout" => Error::Timeout(self.message.clone()),
            "storage" => Error::Storage(self.message.clone()),
            "config" => Error::Config(self.message.clone()),
            _ => Error::BadAnswer(self.message.clone()),
        }
    }

    fn hold_ms(&self) -> u64 {
        if self.to_error().needs_human() {
            HUMAN_FAILURE_HOLD_MS
        } else {
            FAILURE_HOLD_MS
        }
    }
}

/// What a request that lost the election does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseStep {
    /// The holder is working: poll again.
    Wait,
    /// The holder failed moments ago: answer with its error.
    Fail(Error),
    /// The holder is gone or failed long enough ago: contend for this
    /// takeover counter (first to reach 1 becomes the new holder).
    TakeOver(String),
}

/// Decides for a loser of generation `gen`'s election. `waiting_since_ms`
/// is when this request started waiting (for a holder record never written).
pub fn after_lost_election(
    keys: &Keys,
    c: Credential,
    gen: u64,
    holder: Option<&LeaseHolder>,
    now_ms: u64,
    waiting_since_ms: u64,
) -> LeaseStep {
    let takeover =
        |suffix: String| LeaseStep::TakeOver(format!("{}:takeover:{suffix}", keys.lease(c, gen)));
    match holder {
        Some(LeaseHolder {
            id,
            failure: Some(f),
            ..
        }) => {
            if now_ms.saturating_sub(f.at_ms) < f.hold_ms() {
                LeaseStep::Fail(f.to_error())
            } else {
                takeover(format!("{id}:failed"))
            }
        }
        Some(h) if now_ms.saturating_sub(h.since_ms) >= LEASE_TTL_MS => takeover(h.id.clone()),
        Some(_) => LeaseStep::Wait,
        None if now_ms.saturating_sub(waiting_since_ms) >= LEASE_TTL_MS => {
            takeover(format!("absent:{}", now_ms / LEASE_TTL_MS))
        }
        None => LeaseStep::Wait,
    }
}

/// Forced stable_token refreshes so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceLog {
    /// The last forced refresh (seconds since the epoch).
    pub last_at: u64,
    /// The Beijing-time day `count` belongs to.
    pub day: u64,
    /// Forced refreshes on `day`.
    pub count: u32,
}

/// Days since the epoch in Beijing time, when WeChat's daily quotas reset.
pub fn beijing_day(now: u64) -> u64 {
    (now + 8 * 3600) / 86_400
}

/// True when a forced refresh is allowed at `now`.
pub fn may_force(log: &ForceLog, now: u64) -> bool {
    let spaced = log.count == 0 || now >= log.last_at + FORCE_MIN_INTERVAL_SECS;
    let under_quota = log.day != beijing_day(now) || log.count < FORCE_MAX_PER_DAY;
    spaced && under_quota
}

/// The log after a forced refresh at `now`.
pub fn record_force(log: &ForceLog, now: u64) -> ForceLog {
    let day = beijing_day(now);
    let count = if log.day == day { log.count + 1 } else { 1 };
    ForceLog {
        last_at: now,
        day,
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn entry(expires_at: u64) -> Cached {
        Cached {
            value: "T1".into(),
            expires_at,
            generation: 3,
            invalid: false,
            token_generation: None,
            refresh_after: 0,
        }
    }

    fn keys() -> Keys {
        Keys::new(&AppId::new("wx1"))
    }

    #[test]
    fn freshness_covers_every_state() {
        assert_eq!(freshness(None, NOW), Freshness::Missing);
        assert_eq!(freshness(Some(&entry(NOW + 7200)), NOW), Freshness::Fresh);
        assert_eq!(
            freshness(Some(&entry(NOW + REFRESH_AHEAD_SECS + 1)), NOW),
            Freshness::Fresh
        );
        assert_eq!(
            freshness(Some(&entry(NOW + REFRESH_AHEAD_SECS)), NOW),
            Freshness::RefreshAhead
        );
        assert_eq!(
            freshness(Some(&entry(NOW + 1)), NOW),
            Freshness::RefreshAhead
        );
        assert_eq!(freshness(Some(&entry(NOW)), NOW), Freshness::Unusable);
        let rejected = Cached {
            invalid: true,
            ..entry(NOW + 7200)
        };
        assert_eq!(freshness(Some(&rejected), NOW), Freshness::Unusable);
        let rechecking = Cached {
            refresh_after: NOW + 1,
            ..entry(NOW + 10)
        };
        assert_eq!(freshness(Some(&rechecking), NOW), Freshness::Fresh);
        assert_eq!(
            freshness(Some(&rechecking), NOW + 1),
            Freshness::RefreshAhead
        );
    }

    #[test]
    fn unchanged_stable_token_is_rechecked_later_not_at_once() {
        let old = entry(NOW + 200);
        let same = next_entry(Some(&old), "T1".into(), 200, NOW, None);
        assert_eq!(same.refresh_after, NOW + RECHECK_SECS);
        assert_eq!(freshness(Some(&same), NOW + 1), Freshness::Fresh);
        let rotated = next_entry(Some(&old), "T2".into(), 7200, NOW, None);
        assert_eq!(rotated.refresh_after, 0);
        let after_rejection = next_entry(
            Some(&Cached {
                invalid: true,
                ..old
            }),
            "T1".into(),
            200,
            NOW,
            None,
        );
        assert_eq!(after_rejection.refresh_after, 0);
    }

    #[test]
    fn next_entry_bumps_generation_and_sets_expiry() {
        let n = next_entry(Some(&entry(NOW)), "T2".into(), 7200, NOW, None);
        assert_eq!(
            (n.generation, n.expires_at, n.invalid),
            (4, NOW + 7200, false)
        );
        assert_eq!(
            next_entry(None, "T".into(), 7200, NOW, Some(1)).generation,
            1
        );
        assert!(refreshed_since(Some(&n), 3, NOW));
        assert!(!refreshed_since(Some(&n), 4, NOW));
        assert!(!refreshed_since(
            Some(&Cached { invalid: true, ..n }),
            3,
            NOW
        ));
        assert!(!refreshed_since(None, 0, NOW));
    }

    #[test]
    fn invalidate_only_if_same() {
        let e = entry(NOW + 7200);
        let dropped = invalidated(&e, "T1").unwrap();
        assert!(dropped.invalid);
        assert_eq!(dropped.generation, e.generation);
        assert_eq!(
            invalidated(&e, "OTHER"),
            None,
            "a newer token is not dropped"
        );
        assert_eq!(invalidated(&dropped, "T1"), None, "already dropped");
    }

    #[test]
    fn tickets_die_with_their_token() {
        let ticket = Cached {
            token_generation: Some(3),
            ..entry(NOW + 7200)
        };
        assert!(ticket_outlived(&ticket, 3));
        assert!(!ticket_outlived(&ticket, 2));
        assert!(!ticket_outlived(
            &Cached {
                invalid: true,
                ..ticket
            },
            3
        ));
    }

    #[test]
    fn same_token_after_rejection_needs_force() {
        let rejected = Cached {
            invalid: true,
            ..entry(NOW + 7200)
        };
        assert!(needs_forced_refresh(Some(&rejected), "T1"));
        assert!(!needs_forced_refresh(Some(&rejected), "T2"));
        assert!(!needs_forced_refresh(Some(&entry(NOW + 7200)), "T1"));
        assert!(!needs_forced_refresh(None, "T1"));
    }

    #[test]
    fn lease_held_by_another_means_wait_until_ttl() {
        let h = LeaseHolder {
            id: "a".into(),
            since_ms: 1_000,
            failure: None,
        };
        assert_eq!(
            after_lost_election(
                &keys(),
                Credential::AccessToken,
                3,
                Some(&h),
                1_000 + LEASE_TTL_MS - 1,
                0
            ),
            LeaseStep::Wait
        );
        assert_eq!(
            after_lost_election(
                &keys(),
                Credential::AccessToken,
                3,
                Some(&h),
                1_000 + LEASE_TTL_MS,
                0
            ),
            LeaseStep::TakeOver("wxmp:wx1:lease:token:3:takeover:a".into())
        );
    }

    #[test]
    fn missing_holder_record_is_waited_for_then_taken_over() {
        let k = keys();
        assert_eq!(
            after_lost_election(&k, Credential::JsapiTicket, 0, None, 5_000, 5_000),
            LeaseStep::Wait
        );
        let step = after_lost_election(
            &k,
            Credential::JsapiTicket,
            0,
            None,
            5_000 + LEASE_TTL_MS,
            5_000,
        );
        assert_eq!(
            step,
            LeaseStep::TakeOver(format!(
                "wxmp:wx1:lease:ticket:0:takeover:absent:{}",
                (5_000 + LEASE_TTL_MS) / LEASE_TTL_MS
            ))
        );
    }

    #[test]
    fn recent_failure_is_surfaced_then_retried() {
        let err = Error::Upstream {
            errcode: -1,
            errmsg: "system error".into(),
        };
        let h = LeaseHolder {
            id: "a".into(),
            since_ms: 0,
            failure: Some(StoredFailure::new(&err, 10_000)),
        };
        let k = keys();
        assert_eq!(
            after_lost_election(&k, Credential::AccessToken, 1, Some(&h), 10_500, 0),
            LeaseStep::Fail(err)
        );
        assert_eq!(
            after_lost_election(
                &k,
                Credential::AccessToken,
                1,
                Some(&h),
                10_000 + FAILURE_HOLD_MS,
                0
            ),
            LeaseStep::TakeOver("wxmp:wx1:lease:token:1:takeover:a:failed".into())
        );
    }

    #[test]
    fn failures_needing_a_human_are_held_longer() {
        let err = Error::Upstream {
            errcode: 40164,
            errmsg: "invalid ip".into(),
        };
        let h = LeaseHolder {
            id: "a".into(),
            since_ms: 0,
            failure: Some(StoredFailure::new(&err, 0)),
        };
        assert_eq!(
            after_lost_election(
                &keys(),
                Credential::AccessToken,
                1,
                Some(&h),
                HUMAN_FAILURE_HOLD_MS - 1,
                0
            ),
            LeaseStep::Fail(err)
        );
        assert!(matches!(
            after_lost_election(
                &keys(),
                Credential::AccessToken,
                1,
                Some(&h),
                HUMAN_FAILURE_HOLD_MS,
                0
            ),
            LeaseStep::TakeOver(_)
        ));
    }

    #[test]
    fn stored_failures_round_trip() {
        for e in [
            Error::Upstream {
                errcode: 45009,
                errmsg: "reach max api daily quota limit".into(),
            },
            Error::Transport("refused".into()),
            Error::Timeout("5 s".into()),
            Error::Storage("down".into()),
            Error::BadAnswer("HTTP 502".into()),
            Error::Config("app_secret: not set".into()),
        ] {
            assert_eq!(StoredFailure::new(&e, 1).to_error(), e);
        }
    }

    #[test]
    fn forced_refresh_is_spaced_and_capped_per_beijing_day() {
        let mut log = ForceLog::default();
        assert!(may_force(&log, NOW));
        log = record_force(&log, NOW);
        assert!(!may_force(&log, NOW + FORCE_MIN_INTERVAL_SECS - 1));
        assert!(may_force(&log, NOW + FORCE_MIN_INTERVAL_SECS));
        // Ten in one day, then no more until Beijing midnight.
        let day_start = (beijing_day(NOW) * 86_400) - 8 * 3600;
        let mut log = ForceLog::default();
        for i in 0..FORCE_MAX_PER_DAY as u64 {
            let t = day_start + i * 60;
            assert!(may_force(&log, t), "force {i}");
            log = record_force(&log, t);
        }
        assert_eq!(log.count, FORCE_MAX_PER_DAY);
        assert!(!may_force(&log, day_start + 86_399));
        assert!(may_force(&log, day_start + 86_400));
        assert_eq!(record_force(&log, day_start + 86_400).count, 1);
    }

    #[test]
    fn keys_are_namespaced_by_app() {
        let k = keys();
        assert_eq!(k.entry(Credential::AccessToken), "wxmp:wx1:token");
        assert_eq!(k.entry(Credential::JsapiTicket), "wxmp:wx1:ticket");
        assert_eq!(
            k.lease(Credential::AccessToken, 7),
            "wxmp:wx1:lease:token:7"
        );
        assert_eq!(
            k.holder(Credential::JsapiTicket, 7),
            "wxmp:wx1:holder:ticket:7"
        );
        assert_eq!(k.scoped("session", "ab"), "wxmp:wx1:session:ab");
        assert!(!format!("{:?}", entry(1)).contains("T1"));
    }
}
