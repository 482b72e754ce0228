//! wxmp: WeChat Official Account (公众号) login and JS-SDK signing as one
//! WebAssembly component.
//!
//! Drop the component into a Spin app and it serves server URL verification,
//! web OAuth login with sessions (`/api/me`), JS-SDK `wx.config` signatures
//! and the account-wide access_token central control; or import its
//! `wechat:mp` WIT interfaces from another component. The AppSecret and every
//! token stay on the server.
//!
//! # Example: the pure core
//!
//! Every WeChat rule is a plain function over values. Checking WeChat's
//! server signature (Tencent's sample) and signing a page for `wx.config`
//! (the JS-SDK documentation's own example) need no host, store or network:
//!
//! ```
//! use wxmp::core::jssdk;
//! use wxmp::core::origin::AllowedOrigins;
//! use wxmp::core::types::{JsapiTicket, ServerToken};
//! use wxmp::core::verify;
//!
//! // GET /wx?signature=…&timestamp=1409735669&nonce=1320562132 with Token "spamtest".
//! let token = ServerToken::new("spamtest");
//! verify::check_server_signature(
//!     &token,
//!     "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
//!     "1409735669",
//!     "1320562132",
//! )
//! .expect("WeChat's signature checks out");
//!
//! // wx.config for http://mp.weixin.qq.com?params=value (the URL is checked first).
//! let ticket = JsapiTicket::new(
//!     "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
//! );
//! let allowed = AllowedOrigins::parse_list("http://mp.weixin.qq.com").expect("an origin");
//! let page = jssdk::page_url("http://mp.weixin.qq.com?params=value#top", &allowed)
//!     .expect("an allowed page");
//! assert_eq!(page.as_str(), "http://mp.weixin.qq.com?params=value");
//! assert_eq!(
//!     jssdk::signature(&ticket, "Wm3WZYTPz0wzccnW", 1414587457, page.as_str()),
//!     "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
//! );
//! ```
//!
//! # Design decisions
//!
//! - **Sans-IO core** ([`core`]): signatures, URLs, state and session
//!   encoding, token-cache policy and response parsing are plain functions
//!   over values, tested natively with known-answer vectors.
//! - **Flows over ports** ([`flows`], [`ports`]): the operations that need the
//!   world (store, upstream, clock, randomness) are written against small
//!   traits; the Spin adapters implement them on WASI, tests in memory.
//! - **HTTP face as values** ([`http`]): a request value in, a response
//!   value out; the wasi:http handler only moves bytes.
//! - **Single-flight without create-if-absent**: Spin's SQLite key-value
//!   store cannot compare-and-swap an absent key, but its `increment` is
//!   atomic, so one refresher per cache generation is elected by the first
//!   increment to reach 1 (see [`core::cache`]).

#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![warn(missing_docs)]

pub mod core;
pub mod flows;
pub mod http;
pub mod ports;
pub mod wit;

#[cfg(target_arch = "wasm32")]
mod spin;
