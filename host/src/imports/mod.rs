//! The host side of the imports a component is linked with (beyond plain
//! WASI and wasi-http, which wasmtime-wasi provides): one file per interface
//! family, each implemented on [`crate::state::HostState`]. The bindings are
//! generated in [`crate::bindings`] from `host/wit/`.

pub(crate) mod keyvalue;
pub(crate) mod outgoing_http;
pub(crate) mod variables;
