//! Temporary media: `cgi-bin/media/upload` (multipart/form-data with the
//! file in part `media`; image 10 MB, voice 2 MB, video 10 MB, thumb 64 KB)
//! and `cgi-bin/media/get`. Media live 3 days; the simulator keeps at most
//! 64 files and 64 MiB, forgetting the oldest first.
//!
//! The image limit follows the current documentation's 其他补充 section (and
//! its English page); the same page's 注意事项, older docs and most SDKs say
//! 2 MB, so apps that must work everywhere keep images under 2 MB.
//!
//! The body is parsed by `multer`, the multipart/form-data (RFC 7578) parser
//! the Rust HTTP frameworks share. It reads an async stream; here the whole
//! body is already in memory, so the stream is one ready chunk and the parse
//! runs to completion on this thread without an executor (see
//! [`run_in_memory`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use serde_json::json;

use super::{err, Answer, Sim, State};
use crate::request::{SimRequest, SimResponse};

const MIB: usize = 1024 * 1024;
/// Media expire this long after upload.
const TTL_MS: u64 = 3 * 86_400 * 1000;
/// The store's bounds: files, and bytes in all.
const MAX_ITEMS: usize = 64;
const MAX_BYTES: usize = 64 * MIB;
/// Polls after which a parse that never finishes counts as malformed.
const MAX_POLLS: usize = 4096;

/// Each media type: its size limit and the file formats it takes.
const KINDS: [(&str, usize, &[&str]); 4] = [
    ("image", 10 * MIB, &["jpg", "png", "gif"]),
    ("voice", 2 * MIB, &["amr", "mp3"]),
    ("video", 10 * MIB, &["mp4"]),
    ("thumb", 64 * 1024, &["jpg"]),
];

/// File formats: extension, the content type `media/get` answers with, and
/// other names (extensions or content types) an upload may use.
const FORMATS: [(&str, &str, &[&str]); 6] = [
    ("jpg", "image/jpeg", &["jpeg", "image/jpg", "image/pjpeg"]),
    ("png", "image/png", &[]),
    ("gif", "image/gif", &[]),
    ("amr", "audio/amr", &[]),
    ("mp3", "audio/mpeg", &["audio/mp3"]),
    ("mp4", "video/mp4", &[]),
];

/// An uploaded file.
struct Media {
    id: String,
    ext: &'static str,
    content_type: &'static str,
    bytes: Vec<u8>,
    created_ms: u64,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("id", &self.id)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The uploaded media, oldest first, within the store's bounds.
#[derive(Debug, Default)]
pub(super) struct MediaStore {
    items: VecDeque<Media>,
    bytes: usize,
}

impl MediaStore {
    fn get(&self, id: &str, now: u64) -> Option<&Media> {
        self.items
            .iter()
            .find(|m| m.id == id && now.saturating_sub(m.created_ms) < TTL_MS)
    }

    /// Whether `id` names media that has not expired.
    pub(super) fn contains(&self, id: &str, now: u64) -> bool {
        self.get(id, now).is_some()
    }

    fn insert(&mut self, media: Media, now: u64) {
        self.items
            .retain(|m| now.saturating_sub(m.created_ms) < TTL_MS);
        self.items.push_back(media);
        self.bytes = self.items.iter().map(|m| m.bytes.len()).sum();
        while self.items.len() > MAX_ITEMS || self.bytes > MAX_BYTES {
            let Some(oldest) = self.items.pop_front() else {
                break;
            };
            self.bytes -= oldest.bytes.len();
        }
    }
}

/// A file part of a form.
struct FilePart {
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// Drives `fut` to its end on this thread. Only for futures that never wait
/// on I/O, like multer's over an in-memory stream: each poll makes progress,
/// so one that is still pending after [`MAX_POLLS`] is given up on.
fn run_in_memory<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    (0..MAX_POLLS).find_map(|_| match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    })
}

/// The part named `name` of a multipart/form-data `body`, if it is one.
fn form_file(content_type: &str, body: &[u8], name: &str) -> Option<FilePart> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let chunk = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, Infallible>(chunk)));
    let mut form = multer::Multipart::new(stream, boundary);
    run_in_memory(async move {
        while let Some(field) = form.next_field().await.ok()? {
            if field.name() == Some(name) {
                return Some(FilePart {
                    file_name: field.file_name().map(str::to_owned),
                    content_type: field.content_type().map(|m| m.essence_str().to_owned()),
                    bytes: field.bytes().await.ok()?.to_vec(),
                });
            }
        }
        None
    })
    .flatten()
}

/// The format of `part` among `allowed` (extensions): by the file name's
/// extension, else by the part's content type.
fn format_of(part: &FilePart, allowed: &[&str]) -> Option<(&'static str, &'static str)> {
    let named = |name: &str| {
        let name = name.to_ascii_lowercase();
        FORMATS
            .iter()
            .filter(|(ext, _, _)| allowed.contains(ext))
            .find(|(ext, content_type, aliases)| {
                name == *ext || name == *content_type || aliases.contains(&name.as_str())
            })
            .map(|&(ext, content_type, _)| (ext, content_type))
    };
    let ext = part.file_name.as_deref().and_then(|n| n.rsplit_once('.'));
    ext.and_then(|(_, ext)| named(ext))
        .or_else(|| part.content_type.as_deref().and_then(named))
}

impl Sim {
    /// `cgi-bin/media/upload`: 40004 for an unknown `type`, 41005 without
    /// a `media` part, 40005 for a format the type does not take, 40006 for
    /// an empty file, 45001 over the type's size limit.
    pub(super) fn upload_media(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req, now)?;
        if req.method != "POST" {
            return Err(err(43002));
        }
        let kind = req.param("type").unwrap_or_default();
        let &(kind, limit, allowed) = KINDS
            .iter()
            .find(|(k, _, _)| *k == kind)
            .ok_or(err(40004))?;
        let part = req
            .header("content-type")
            .and_then(|ct| form_file(ct, &req.body, "media"))
            .ok_or(err(41005))?;
        let (ext, content_type) = format_of(&part, allowed).ok_or(err(40005))?;
        if part.bytes.is_empty() {
            return Err(err(40006));
        }
        if part.bytes.len() > limit {
            return Err(err(45001));
        }
        let id = self.mint(st, "MEDIA");
        st.media.insert(
            Media {
                id: id.clone(),
                ext,
                content_type,
                bytes: part.bytes,
                created_ms: now,
            },
            now,
        );
        Ok(json!({ "type": kind, "media_id": id, "created_at": now / 1000 }))
    }

    /// `cgi-bin/media/get`: the file as uploaded, as an attachment named
    /// after its media_id; 40007 for unknown or expired media. (For videos
    /// WeChat answers `{"video_url": …}` instead; the simulator serves every
    /// type's bytes.)
    pub(super) fn get_media(&self, st: &mut State, req: &SimRequest, now: u64) -> SimResponse {
        if let Err((code, msg)) = Self::check_token(st, req, now) {
            return SimResponse::error(code, msg);
        }
        let Some(media) = st.media.get(req.param("media_id").unwrap_or_default(), now) else {
            let (code, msg) = err(40007);
            return SimResponse::error(code, msg);
        };
        SimResponse {
            headers: vec![
                (
                    "content-disposition".into(),
                    format!("attachment; filename=\"{}.{}\"", media.id, media.ext),
                ),
                ("cache-control".into(), "no-cache, must-revalidate".into()),
            ],
            ..SimResponse::binary(media.content_type, media.bytes.clone())
        }
    }
}
