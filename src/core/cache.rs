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
use super::keys::{Key, Keys};
use super::token::Issued;
use super::types::{AccessToken, JsapiTicket};

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
    /// How the credential's keys spell it.
    pub(crate) fn key_part(self) -> &'static str {
        match self {
            Self::AccessToken => "token",
            Self::JsapiTicket => "ticket",
        }
    }
}

/// A secret the central control caches: the access_token or the
/// jsapi_ticket. Compared by value (to recognise the token WeChat just
/// rejected) and stored as JSON; never printed.
pub trait CachedSecret:
    Clone + PartialEq + Serialize + serde::de::DeserializeOwned + std::fmt::Debug
{
    /// Which credential this is.
    const KIND: Credential;
    /// The secret itself, for comparisons.
    fn secret(&self) -> &str;
}

impl CachedSecret for AccessToken {
    const KIND: Credential = Credential::AccessToken;
    fn secret(&self) -> &str {
        AccessToken::secret(self)
    }
}

impl CachedSecret for JsapiTicket {
    const KIND: Credential = Credential::JsapiTicket;
    fn secret(&self) -> &str {
        JsapiTicket::secret(self)
    }
}

/// A cached credential as stored (JSON) in the key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "V: CachedSecret")]
pub struct Cached<V> {
    /// The token or ticket (redacted in Debug by its type).
    pub value: V,
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
    /// When it was fetched (seconds since the epoch; 0 in records written
    /// before wxmp kept it), for `/api/status`.
    #[serde(default)]
    pub fetched_at: u64,
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
pub fn freshness<V>(entry: Option<&Cached<V>>, now: u64) -> Freshness {
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
pub fn remaining_secs<V>(entry: &Cached<V>, now: u64) -> u64 {
    entry.expires_at.saturating_sub(now)
}

/// The generation an election is held for: the current entry's, or 0.
pub fn basis<V>(entry: Option<&Cached<V>>) -> u64 {
    entry.map_or(0, |e| e.generation)
}

/// The entry to store after a successful fetch on top of `previous`. When
/// WeChat handed back the still-valid token it had (stable_token before its
/// own rotation window), the next refresh-ahead waits [`RECHECK_SECS`].
pub fn next_entry<V: CachedSecret>(
    previous: Option<&Cached<V>>,
    issued: Issued<V>,
    now: u64,
    token_generation: Option<u64>,
) -> Cached<V> {
    let unchanged = previous.is_some_and(|p| !p.invalid && p.value == issued.value);
    Cached {
        refresh_after: if unchanged { now + RECHECK_SECS } else { 0 },
        value: issued.value,
        expires_at: now + issued.expires_in,
        generation: basis(previous) + 1,
        invalid: false,
        token_generation,
        fetched_at: now,
    }
}

/// True when a waiter can stop: a newer generation is there and usable.
pub fn refreshed_since<V>(entry: Option<&Cached<V>>, basis: u64, now: u64) -> bool {
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
pub fn invalidated<V: CachedSecret>(entry: &Cached<V>, rejected: &str) -> Option<Cached<V>> {
    (!entry.invalid && entry.value.secret() == rejected).then(|| Cached {
        invalid: true,
        ..entry.clone()
    })
}

/// True when a ticket was fetched with the access-token generation just dropped.
pub fn ticket_outlived(ticket: &Cached<JsapiTicket>, dropped_token_generation: u64) -> bool {
    !ticket.invalid && ticket.token_generation == Some(dropped_token_generation)
}

/// True when a normal stable_token fetch handed back the very token WeChat
/// just rejected: only a forced refresh can help.
pub fn needs_forced_refresh(previous: Option<&Cached<AccessToken>>, fetched: &AccessToken) -> bool {
    previous.is_some_and(|p| p.invalid && p.value == *fetched)
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

/// Which kind of [`Error`] a lease holder failed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// WeChat answered an errcode.
    Upstream,
    /// WeChat's answer was unreadable.
    BadAnswer,
    /// WeChat could not be reached.
    Transport,
    /// WeChat was too slow.
    Timeout,
    /// The store failed.
    Storage,
    /// A variable is missing or malformed.
    Config,
}

/// An [`Error`] as kept in a lease record. Only fetch failures are stored;
/// a holder never fails with a caller's mistake or `busy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFailure {
    /// When it failed (ms since the epoch).
    pub at_ms: u64,
    /// What failed.
    pub kind: FailureKind,
    /// WeChat's errcode for `upstream`.
    #[serde(default)]
    pub errcode: i64,
    /// The message.
    pub message: String,
}

impl StoredFailure {
    /// Records `error` at `now_ms`; `None` for errors a fetch cannot end
    /// with (a signature, a caller's input, `busy`), which are not shared.
    pub fn new(error: &Error, now_ms: u64) -> Option<Self> {
        let (kind, errcode, message) = match error {
            Error::Upstream { errcode, errmsg } => (FailureKind::Upstream, *errcode, errmsg),
            Error::BadAnswer(m) => (FailureKind::BadAnswer, 0, m),
            Error::Transport(m) => (FailureKind::Transport, 0, m),
            Error::Timeout(m) => (FailureKind::Timeout, 0, m),
            Error::Storage(m) => (FailureKind::Storage, 0, m),
            Error::Config(m) => (FailureKind::Config, 0, m),
            Error::InvalidSignature
            | Error::InvalidInput { .. }
            | Error::Refused { .. }
            | Error::Busy => return None,
        };
        Some(Self {
            at_ms: now_ms,
            kind,
            errcode,
            message: message.clone(),
        })
    }

    /// The error again, as the waiter's own result.
    pub fn to_error(&self) -> Error {
        let m = self.message.clone();
        match self.kind {
            FailureKind::Upstream => Error::Upstream {
                errcode: self.errcode,
                errmsg: m,
            },
            FailureKind::BadAnswer => Error::BadAnswer(m),
            FailureKind::Transport => Error::Transport(m),
            FailureKind::Timeout => Error::Timeout(m),
            FailureKind::Storage => Error::Storage(m),
            FailureKind::Config => Error::Config(m),
        }
    }

    fn hold_ms(&self) -> u64 {
        if self.to_error().needs_human() {
            HUMAN_FAILURE_HOLD_MS
        } else {
            FAILURE_HOLD_MS
        }
    }

    /// Until when waiters are handed this failure (ms since the epoch).
    pub fn held_until_ms(&self) -> u64 {
        self.at_ms + self.hold_ms()
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
    TakeOver(Key),
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
    let takeover = |holder: String| LeaseStep::TakeOver(keys.takeover(c, gen, &holder));
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

    fn entry(expires_at: u64) -> Cached<AccessToken> {
        Cached {
            value: AccessToken::new("T1"),
            expires_at,
            generation: 3,
            invalid: false,
            token_generation: None,
            refresh_after: 0,
            fetched_at: 0,
        }
    }

    fn keys() -> Keys {
        Keys::new(&crate::core::types::AppId::new("wx1"))
    }

    fn issued(value: &str, expires_in: u64) -> Issued<AccessToken> {
        Issued {
            value: AccessToken::new(value),
            expires_in,
        }
    }

    #[test]
    fn freshness_covers_every_state() {
        assert_eq!(freshness::<AccessToken>(None, NOW), Freshness::Missing);
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
        let same = next_entry(Some(&old), issued("T1", 200), NOW, None);
        assert_eq!(same.refresh_after, NOW + RECHECK_SECS);
        assert_eq!(freshness(Some(&same), NOW + 1), Freshness::Fresh);
        let rotated = next_entry(Some(&old), issued("T2", 7200), NOW, None);
        assert_eq!(rotated.refresh_after, 0);
        let after_rejection = next_entry(
            Some(&Cached {
                invalid: true,
                ..old
            }),
            issued("T1", 200),
            NOW,
            None,
        );
        assert_eq!(after_rejection.refresh_after, 0);
    }

    #[test]
    fn next_entry_bumps_generation_and_sets_expiry() {
        let n = next_entry(Some(&entry(NOW)), issued("T2", 7200), NOW, None);
        assert_eq!(
            (n.generation, n.expires_at, n.invalid),
            (4, NOW + 7200, false)
        );
        assert_eq!(
            next_entry(None, issued("T", 7200), NOW, Some(1)).generation,
            1
        );
        assert!(refreshed_since(Some(&n), 3, NOW));
        assert!(!refreshed_since(Some(&n), 4, NOW));
        assert!(!refreshed_since(
            Some(&Cached { invalid: true, ..n }),
            3,
            NOW
        ));
        assert!(!refreshed_since::<AccessToken>(None, 0, NOW));
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
            value: JsapiTicket::new("K"),
            expires_at: NOW + 7200,
            generation: 3,
            invalid: false,
            token_generation: Some(3),
            refresh_after: 0,
            fetched_at: NOW,
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
        let (t1, t2) = (AccessToken::new("T1"), AccessToken::new("T2"));
        assert!(needs_forced_refresh(Some(&rejected), &t1));
        assert!(!needs_forced_refresh(Some(&rejected), &t2));
        assert!(!needs_forced_refresh(Some(&entry(NOW + 7200)), &t1));
        assert!(!needs_forced_refresh(None, &t1));
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
            LeaseStep::TakeOver(keys().takeover(Credential::AccessToken, 3, "a"))
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
            LeaseStep::TakeOver(k.takeover(
                Credential::JsapiTicket,
                0,
                &format!("absent:{}", (5_000 + LEASE_TTL_MS) / LEASE_TTL_MS)
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
            failure: StoredFailure::new(&err, 10_000),
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
            LeaseStep::TakeOver(k.takeover(Credential::AccessToken, 1, "a:failed"))
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
            failure: StoredFailure::new(&err, 0),
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
            assert_eq!(StoredFailure::new(&e, 1).unwrap().to_error(), e);
        }
        for e in [
            Error::Busy,
            Error::InvalidSignature,
            Error::invalid("x", "y"),
        ] {
            assert_eq!(StoredFailure::new(&e, 1), None, "{e:?}");
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
    fn cached_values_never_print() {
        assert!(!format!("{:?}", entry(1)).contains("T1"));
    }
}
