//! JS-SDK `wx.config` signatures: sha1 of
//! `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, where `url` is the page
//! URL exactly as the browser has it, minus the `#fragment`.

use serde::Serialize;
use sha1::{Digest, Sha1};

use super::error::Error;
use super::nonce::nonce_str;
use super::origin::AllowedOrigins;
use super::types::{AppId, JsapiTicket};

/// What `wx.config` needs besides `jsApiList`, in its JSON spelling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsConfig {
    /// The Official Account's AppID.
    pub app_id: String,
    /// Seconds since the Unix epoch (an integer, as WeChat wants).
    pub timestamp: u64,
    /// The nonce that went into the signature.
    pub nonce_str: String,
    /// Lowercase hex sha1.
    pub signature: String,
}

/// The page URL as WeChat signs it: everything before the first `#`.
pub fn strip_fragment(url: &str) -> &str {
    url.split_once('#').map_or(url, |(before, _)| before)
}

/// The JS-SDK signature over an already fragment-free URL.
pub fn signature(ticket: &JsapiTicket, nonce_str: &str, timestamp: u64, url: &str) -> String {
    // Hashed piece by piece: the signed string is never assembled.
    let digest = Sha1::new()
        .chain_update("jsapi_ticket=")
        .chain_update(ticket.secret())
        .chain_update("&noncestr=")
        .chain_update(nonce_str)
        .chain_update("&timestamp=")
        .chain_update(timestamp.to_string())
        .chain_update("&url=")
        .chain_update(url)
        .finalize();
    hex::encode(digest)
}

/// A page URL that passed [`page_url`]: fragment-free, absolute, on an
/// allowed origin. Only such a URL can be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageUrl<'a>(&'a str);

impl<'a> PageUrl<'a> {
    /// The URL exactly as it is signed.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// Checks a page URL before signing it: absolute, on an allowed origin,
/// and short enough to be a real page URL.
pub fn page_url<'a>(raw: &'a str, allowed: &AllowedOrigins) -> Result<PageUrl<'a>, Error> {
    let url = strip_fragment(raw);
    if url.len() > 4096 || allowed.check_url(url).is_none() {
        return Err(Error::invalid(
            "invalid_url",
            "url must be the page's absolute URL on an allowed origin",
        ));
    }
    Ok(PageUrl(url))
}

/// Signs `page` for `wx.config` at `timestamp` with a nonce from `random`.
pub fn sign(
    app_id: &AppId,
    ticket: &JsapiTicket,
    page: PageUrl,
    timestamp: u64,
    random: [u8; 16],
) -> JsConfig {
    let nonce = nonce_str(random);
    JsConfig {
        app_id: app_id.to_string(),
        timestamp,
        signature: signature(ticket, &nonce, timestamp, page.as_str()),
        nonce_str: nonce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JS-SDK documentation's own example (appendix 1).
    #[test]
    fn official_example_signature() {
        let ticket = JsapiTicket::new("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg");
        assert_eq!(
            signature(
                &ticket,
                "Wm3WZYTPz0wzccnW",
                1414587457,
                "http://mp.weixin.qq.com?params=value"
            ),
            "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
        );
    }

    #[test]
    fn fragment_is_dropped_and_nothing_else_changes() {
        assert_eq!(
            strip_fragment("https://a.example/p?x=1&y=%20#/route?z"),
            "https://a.example/p?x=1&y=%20"
        );
        assert_eq!(
            strip_fragment("https://A.example:443/p"),
            "https://A.example:443/p"
        );
        assert_eq!(strip_fragment("https://a.example/#"), "https://a.example/");
    }

    #[test]
    fn sign_keeps_the_url_as_given_and_checks_the_origin() {
        let allowed = AllowedOrigins::parse_list("http://mp.weixin.qq.com").unwrap();
        let ticket = JsapiTicket::new("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg");
        let page = page_url("http://mp.weixin.qq.com?params=value#x", &allowed).unwrap();
        assert_eq!(page.as_str(), "http://mp.weixin.qq.com?params=value");
        let cfg = sign(&AppId::new("wx1"), &ticket, page, 1414587457, [0; 16]);
        assert_eq!(cfg.nonce_str, "AAAAAAAAAAAAAAAA");
        assert_eq!(
            cfg.signature,
            signature(
                &ticket,
                "AAAAAAAAAAAAAAAA",
                1414587457,
                "http://mp.weixin.qq.com?params=value"
            )
        );
        let json = serde_json::to_value(&cfg).unwrap();
        assert_eq!(json["appId"], "wx1");
        assert_eq!(json["timestamp"], 1414587457);
        assert_eq!(json["nonceStr"], "AAAAAAAAAAAAAAAA");
        let err = page_url("https://evil.example/", &allowed).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidInput {
                code: "invalid_url",
                ..
            }
        ));
    }

    /// An internationalised host matches its punycode origin either way it
    /// is written, and the page URL is signed exactly as given.
    #[test]
    fn internationalised_hosts_match_their_punycode_origin() {
        let allowed = AllowedOrigins::parse_list("https://xn--fiqs8s.example").unwrap();
        for raw in [
            "https://xn--fiqs8s.example/p?a=1",
            "https://XN--FIQS8S.example/p?a=1",
            "https://中国.example/p?a=1",
        ] {
            assert_eq!(page_url(raw, &allowed).unwrap().as_str(), raw);
        }
        assert!(page_url("https://中国.example.com/p", &allowed).is_err());
        assert_eq!(
            AllowedOrigins::parse_list("https://中国.example").unwrap(),
            allowed
        );
    }

    #[test]
    fn nonce_is_sixteen_alphanumerics() {
        let n = nonce_str([255, 61, 62, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(n.len(), 16);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
