//! The sans-IO core: WeChat's rules as plain functions over values.
//!
//! Nothing here touches the network, the key-value store, the clock or the
//! random source: callers pass `now`, random bytes and response bodies in, and
//! get URLs, signatures, decisions and typed results back. That is what makes
//! every rule testable natively with `cargo test` and known-answer vectors.

pub mod allow_list;
pub mod api;
pub mod cache;
pub mod config;
pub mod crypto;
pub mod custom;
pub mod diagnose;
pub mod domain_check;
pub mod error;
pub mod gateway;
pub(crate) mod ids;
pub mod jssdk;
pub mod keys;
pub mod messages;
pub mod method;
pub mod mount;
pub mod nonce;
pub mod oauth;
pub mod origin;
pub mod qrcode;
pub mod session;
pub mod state;
pub mod status;
pub mod template;
pub mod token;
pub mod types;
pub mod userinfo;
pub mod verify;
pub mod xml;

pub(crate) mod mac;
