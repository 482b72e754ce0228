//! The account's followers: `cgi-bin/user/info`, following and unfollowing,
//! and the customer-service window a user's message opens (48 hours, 5
//! messages per the current documentation).

use serde_json::json;

use super::{err, Answer, Sim, SimUser, State};
use crate::request::SimRequest;

/// A user's message lets the account answer for this long.
const WINDOW_MS: u64 = 48 * 3600 * 1000;
/// Custom messages allowed per window.
const CUSTOM_PER_WINDOW: u32 = 5;

/// What a user has done since the simulator started.
#[derive(Clone, Debug)]
pub(super) struct UserState {
    follows: bool,
    /// Unix seconds of the last follow.
    subscribe_time: u64,
    /// When the user last messaged the account.
    last_interaction_ms: Option<u64>,
    /// Custom messages sent since then.
    custom_sent: u32,
}

impl UserState {
    pub(super) fn new(user: &SimUser) -> Self {
        Self {
            follows: user.follows,
            subscribe_time: user.subscribe_time,
            last_interaction_ms: None,
            custom_sent: 0,
        }
    }

    pub(super) fn follows(&self) -> bool {
        self.follows
    }

    /// Takes one custom message from the window: 45015 when there is no
    /// open window (no message within 48 hours, or the user unfollowed),
    /// 45047 when its 5 are used.
    pub(super) fn take_custom_slot(&mut self, now: u64) -> Result<(), (i64, &'static str)> {
        let open = self
            .last_interaction_ms
            .is_some_and(|at| now.saturating_sub(at) < WINDOW_MS);
        if !self.follows || !open {
            return Err(err(45015));
        }
        if self.custom_sent >= CUSTOM_PER_WINDOW {
            return Err(err(45047));
        }
        self.custom_sent += 1;
        Ok(())
    }
}

impl Sim {
    /// The index of the user with `openid`, as pushes and the control API
    /// name users by openid or by index.
    pub fn user_index(&self, openid: &str) -> Option<usize> {
        self.cfg.users.iter().position(|u| u.openid == openid)
    }

    /// Records that user `user` just messaged the account (WeChat pushed the
    /// message): a fresh 48-hour window for 5 custom messages. `false` when
    /// there is no such user.
    pub fn record_interaction(&self, user: usize, now_ms: u64) -> bool {
        let mut st = self.lock();
        let Some(u) = st.users.get_mut(user) else {
            return false;
        };
        u.last_interaction_ms = Some(now_ms);
        u.custom_sent = 0;
        true
    }

    /// Makes user `user` follow or unfollow the account at `now_ms`, as the
    /// user would in WeChat; a new follow sets `subscribe_time`. `false`
    /// when there is no such user.
    pub fn set_follows(&self, user: usize, follows: bool, now_ms: u64) -> bool {
        let mut st = self.lock();
        let Some(u) = st.users.get_mut(user) else {
            return false;
        };
        if follows && !u.follows {
            u.subscribe_time = now_ms / 1000;
        }
        u.follows = follows;
        true
    }

    /// The user an API call names by openid: 40003 for anyone else.
    pub(super) fn user_named(&self, openid: Option<&str>) -> Result<usize, (i64, &'static str)> {
        openid.and_then(|o| self.user_index(o)).ok_or(err(40003))
    }

    /// `cgi-bin/user/info`: a follower's record (profile fields empty since
    /// 2021-12-27, keys kept as observed), `subscribe: 0` for anyone else.
    pub(super) fn user_info(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req, now)?;
        let i = self.user_named(req.param("openid"))?;
        let (user, state) = (&self.cfg.users[i], &st.users[i]);
        if !state.follows {
            return Ok(json!({ "subscribe": 0, "openid": user.openid }));
        }
        let mut v = json!({
            "subscribe": 1, "openid": user.openid, "language": "zh_CN",
            "subscribe_time": state.subscribe_time, "remark": "", "groupid": 0, "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_SEARCH", "qr_scene": 0, "qr_scene_str": "",
            "nickname": "", "sex": 0, "city": "", "province": "", "country": "", "headimgurl": "",
        });
        if let Some(unionid) = &user.unionid {
            v["unionid"] = json!(unionid);
        }
        Ok(v)
    }
}
