//! The benchmark's floor: a Spin HTTP component that answers `200 ok` to
//! everything without looking at the request. Served by wxmp-host with a
//! fresh instance per request, it shows what instantiation, the wasi:http
//! plumbing and HTTP/1.1 cost before wxmp does any work
//! (docs/PERFORMANCE.md).

#[cfg(target_arch = "wasm32")]
mod component {
    use spin_sdk::http::{
        Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
    };
    use spin_sdk::http_component;

    const BODY: &[u8] = b"ok";

    #[http_component]
    async fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let headers = [
            ("content-type".to_owned(), b"text/plain".to_vec()),
            (
                "content-length".to_owned(),
                BODY.len().to_string().into_bytes(),
            ),
        ];
        let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(fields);
        let _ = response.set_status_code(200);
        let Ok(body) = response.body() else { return };
        out.set(response);
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(BODY);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}
