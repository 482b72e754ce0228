//! The Spin/WASI side of the IO line (compiled for wasm32 only): adapters
//! that implement `ports` on WASI imports, the wasi:http entry point, and the
//! `wechat:mp` WIT exports. They move bytes; all decisions live in `core`
//! and `flows`.

mod exports;
mod handler;
mod kv;
mod outbound;
mod platform;
mod streams;
