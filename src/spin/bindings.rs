//! Bindings for the `wechat:mp` exports (world `library` in `wit/`). The
//! wasi:http export comes from spin-sdk's `#[http_component]`; the built
//! component's world is `wechat:mp/wxmp`, both together.

wit_bindgen::generate!({
    world: "library",
    path: "wit",
    generate_all,
});
