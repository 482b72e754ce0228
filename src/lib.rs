//! wxmp: WeChat Official Account (公众号) login and JS-SDK signing as one
//! WebAssembly component.
//!
//! Drop the component into a Spin app and it serves server URL verification,
//! web OAuth login with sessions (`/api/me`), JS-SDK `wx.config` signatures
//! and the account-wide access_token central control; or import its
//! `wechat:mp` WIT interfaces from another component. The AppSecret and every
//! token stay on the server.
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
