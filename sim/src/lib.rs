//! wxmp-sim: WeChat's Official Account API and web OAuth as documented,
//! for tests, benchmarks and wxmp's sandbox mode.
//!
//! The core is sans-IO: [`Sim::handle`] takes a request value and the
//! current time and returns a [`Reply`] (a response, possibly delayed, or a
//! dropped connection). Servers and test adapters only move bytes, so the
//! same simulator answers over loopback HTTP and in-process.
//!
//! What it models: access tokens (classic `/cgi-bin/token`, where each fetch
//! replaces the previous token after a 5-minute overlap; `stable_token`,
//! which returns the same token while valid, rotates within its last five
//! minutes, and with `force_refresh` replaces it at once, 20 times a day),
//! the jsapi_ticket, single-use OAuth codes (5 minutes), user grants,
//! `sns/userinfo` (48001 for snsapi_base grants), and `sns/auth`; template
//! and customer-service messages (followers, the 48-hour window and its
//! quota), parametric QR codes and their PNG images, temporary media
//! (multipart uploads, bounded in memory), `user/info`, the server IP lists,
//! the callback network check, and the IP allow-list's 40164 naming the
//! caller. Every endpoint counts its calls and can be told to fail.

mod faults;
mod model;
pub mod push;
mod request;
#[cfg(feature = "server")]
pub mod server;

pub use faults::Fault;
pub use model::{MessageKind, SentMessage, Sim, SimConfig, SimUser};
pub use request::{Reply, SimRequest, SimResponse};
