//! Parametric QR codes: `cgi-bin/qrcode/create` (temporary codes, 60 s by
//! default and 30 days at most, and permanent ones) and `cgi-bin/showqrcode`,
//! the image of a ticket (WeChat serves it on mp.weixin.qq.com without an
//! access_token; the simulator on its own host).

use std::collections::VecDeque;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::{err, post_json, Answer, Sim, State};
use crate::request::{SimRequest, SimResponse};

/// A temporary code lives this long unless `expire_seconds` says otherwise.
const DEFAULT_EXPIRE_SECS: u64 = 60;
/// And at most this long (30 days).
const MAX_EXPIRE_SECS: u64 = 2_592_000;
/// Permanent codes take scene ids 1..=100000.
const MAX_PERMANENT_SCENE_ID: u64 = 100_000;
/// `scene_str` is 1 to 64 characters.
const MAX_SCENE_STR_CHARS: usize = 64;
/// Tickets remembered; past this the oldest are forgotten (their images 404).
const KEPT: usize = 10_000;
/// Pixels per QR module in the image, and the quiet zone in modules.
const SCALE: usize = 8;
const QUIET: usize = 4;

/// An issued ticket.
#[derive(Debug)]
struct Ticket {
    ticket: String,
    /// What the QR code encodes: `http://weixin.qq.com/q/<id>`.
    url: String,
    /// `None` for permanent codes.
    expires_ms: Option<u64>,
}

/// The tickets issued, oldest first.
#[derive(Debug, Default)]
pub(super) struct Tickets {
    items: VecDeque<Ticket>,
}

/// Checks `action_info.scene`: a `scene_id` (1..=100000 for permanent
/// codes, any non-zero 32-bit number for temporary ones) or a `scene_str`
/// of 1 to 64 characters; 40053 otherwise.
fn check_scene(body: &Value, permanent: bool, by_id: bool) -> Result<(), (i64, &'static str)> {
    let scene = body.pointer("/action_info/scene");
    let valid = if by_id {
        let max = if permanent {
            MAX_PERMANENT_SCENE_ID
        } else {
            u64::from(u32::MAX)
        };
        scene
            .and_then(|s| s.get("scene_id"))
            .and_then(Value::as_u64)
            .is_some_and(|id| (1..=max).contains(&id))
    } else {
        scene
            .and_then(|s| s.get("scene_str"))
            .and_then(Value::as_str)
            .is_some_and(|s| (1..=MAX_SCENE_STR_CHARS).contains(&s.chars().count()))
    };
    if valid {
        Ok(())
    } else {
        Err(err(40053))
    }
}

/// `text` as a QR code in a PNG: black modules on white, 8 pixels each,
/// with the 4-module quiet zone scanners need.
fn qr_png(text: &str) -> Option<Vec<u8>> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            let (x, y) = ((i % modules + QUIET) * SCALE, (i / modules + QUIET) * SCALE);
            for row in y..y + SCALE {
                pixels[row * side + x..row * side + x + SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).ok()?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&pixels).ok()?;
    writer.finish().ok()?;
    Some(out)
}

impl Sim {
    /// `cgi-bin/qrcode/create`: 40052 for an unknown `action_name`, 40053
    /// for a scene out of range; temporary codes answer their
    /// `expire_seconds`, permanent ones leave it out.
    pub(super) fn create_qrcode(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req, now)?;
        let body: Value = post_json(req)?;
        let (permanent, by_id) = match body.get("action_name").and_then(Value::as_str) {
            Some("QR_SCENE") => (false, true),
            Some("QR_STR_SCENE") => (false, false),
            Some("QR_LIMIT_SCENE") => (true, true),
            Some("QR_LIMIT_STR_SCENE") => (true, false),
            _ => return Err(err(40052)),
        };
        check_scene(&body, permanent, by_id)?;
        let expire_secs = match body.get("expire_seconds") {
            None => DEFAULT_EXPIRE_SECS,
            Some(v) => v.as_u64().ok_or(err(47001))?,
        };
        let expire_secs = if expire_secs == 0 {
            DEFAULT_EXPIRE_SECS
        } else {
            expire_secs.min(MAX_EXPIRE_SECS)
        };
        let (_, digest) = self.next_digest(st, "qrcode");
        let url = format!(
            "http://weixin.qq.com/q/02{}",
            URL_SAFE_NO_PAD.encode(&digest[..15])
        );
        // Like WeChat's, the ticket is base64 with the URL inside: it needs
        // URL-encoding in `showqrcode?ticket=`.
        let ticket = STANDARD.encode([&[0x81, 0x04], &digest[15..], url.as_bytes()].concat());
        let tickets = &mut st.qrcodes.items;
        tickets.retain(|t| t.expires_ms.is_none_or(|at| at > now));
        if tickets.len() == KEPT {
            tickets.pop_front();
        }
        tickets.push_back(Ticket {
            ticket: ticket.clone(),
            url: url.clone(),
            expires_ms: (!permanent).then_some(now + expire_secs * 1000),
        });
        Ok(if permanent {
            json!({ "ticket": ticket, "url": url })
        } else {
            json!({ "ticket": ticket, "expire_seconds": expire_secs, "url": url })
        })
    }

    /// `cgi-bin/showqrcode?ticket=`: the code's image, HTTP 404 for an
    /// unknown or expired ticket.
    pub(super) fn show_qrcode(&self, st: &mut State, req: &SimRequest, now: u64) -> SimResponse {
        let found = st.qrcodes.items.iter().find(|t| {
            Some(t.ticket.as_str()) == req.param("ticket") && t.expires_ms.is_none_or(|at| at > now)
        });
        let Some(found) = found else {
            return SimResponse::server_error(404);
        };
        match qr_png(&found.url) {
            // WeChat labels its image `image/jpg` (and sends JPEG); ours is a
            // PNG and says so, which browsers and image decoders accept alike.
            Some(png) => SimResponse {
                headers: vec![
                    ("cache-control".into(), "max-age=604800".into()),
                    ("accept-ranges".into(), "bytes".into()),
                ],
                ..SimResponse::binary("image/png", png)
            },
            None => SimResponse::server_error(500),
        }
    }
}
