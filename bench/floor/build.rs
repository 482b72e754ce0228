//! The same 128 KiB shadow stack as wxmp's component (see its build.rs),
//! so the floor pays the same memory reset per request, not Rust's 1 MiB.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={}", 128 * 1024);
    }
}
