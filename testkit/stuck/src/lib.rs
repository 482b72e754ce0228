//! A Spin HTTP component that misbehaves on purpose, so wxmp-host's
//! deadlines can be tested against a real guest: `/loop` spins the CPU
//! forever, `/late` answers `200 late` and then spins, anything else
//! answers `200 ok` at once.

#[cfg(target_arch = "wasm32")]
mod component {
    use spin_sdk::http::{
        Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
    };
    use spin_sdk::http_component;

    /// Never returns, and never yields to the host by itself.
    fn spin_forever() -> ! {
        let mut x: u64 = 0;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    /// `200` with `text`, chunked (no headers at all).
    fn say(out: ResponseOutparam, text: &str) {
        let response = OutgoingResponse::new(Fields::new());
        if let Ok(body) = response.body() {
            out.set(response);
            if let Ok(stream) = body.write() {
                let _ = stream.blocking_write_and_flush(text.as_bytes());
            }
            let _ = OutgoingBody::finish(body, None);
        }
    }

    #[http_component]
    async fn handle(request: IncomingRequest, out: ResponseOutparam) {
        match request.path_with_query().as_deref() {
            Some("/loop") => spin_forever(),
            Some("/late") => {
                say(out, "late");
                spin_forever()
            }
            _ => say(out, "ok"),
        }
    }
}
