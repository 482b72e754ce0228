//! Host bindings for the Spin imports declared in `host/wit/`.

wasmtime::component::bindgen!({
    path: "wit",
    world: "wxmp-host:imports/host",
    imports: { default: async | trappable },
    with: {
        "wasi:keyvalue/store.bucket": crate::imports::keyvalue::Bucket,
        "wasi:keyvalue/atomics.cas": crate::imports::keyvalue::Cas,
    },
});
