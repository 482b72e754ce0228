//! WeChat's domain check (域名校验): before it saves a web-authorisation
//! domain (网页授权域名) or a JS-interface safe domain (JS接口安全域名), the
//! console asks the operator to serve a file `MP_verify_<code>.txt`, whose
//! content is `<code>`, at the domain's root. wxmp serves it from the
//! `domain_verify_file` variable (`MP_verify_abc123.txt:abc123`).

/// The file WeChat asked for: its name and its exact content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFile {
    name: String,
    content: String,
}

impl VerifyFile {
    /// Reads `MP_verify_<code>.txt:<content>`; both parts letters and
    /// digits, the name exactly as WeChat spells it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || "must be MP_verify_<code>.txt:<content> (letters and digits)".to_owned();
        let (name, content) = raw.trim().split_once(':').ok_or_else(invalid)?;
        let code = name
            .strip_prefix("MP_verify_")
            .and_then(|n| n.strip_suffix(".txt"))
            .ok_or_else(invalid)?;
        let alnum = |s: &str| {
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        if !alnum(code) || !alnum(content) {
            return Err(invalid());
        }
        Ok(Self {
            name: name.to_owned(),
            content: content.to_owned(),
        })
    }

    /// The content, when `path` is this file at the root (`/MP_verify_….txt`).
    pub fn serves(&self, path: &str) -> Option<&str> {
        (path.strip_prefix('/') == Some(self.name.as_str())).then_some(self.content.as_str())
    }
}

/// True for paths shaped like a domain check file, served or not (so the
/// router can answer them at the root, whatever the mount).
pub fn is_check_path(path: &str) -> bool {
    path.strip_prefix("/MP_verify_")
        .is_some_and(|rest| rest.ends_with(".txt") && !rest.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_serves_only_its_own_name() {
        let f = VerifyFile::parse("MP_verify_abc123.txt:abc123").unwrap();
        assert_eq!(f.serves("/MP_verify_abc123.txt"), Some("abc123"));
        assert_eq!(f.serves("/MP_verify_other.txt"), None);
        assert_eq!(f.serves("/x/MP_verify_abc123.txt"), None);
        assert!(is_check_path("/MP_verify_zzz.txt"));
        assert!(!is_check_path("/MP_verify_zzz.txt/x"));
        assert!(!is_check_path("/wx"));
        for bad in [
            "",
            "MP_verify_abc.txt",
            "abc.txt:abc",
            "MP_verify_.txt:a",
            "MP_verify_a b.txt:a",
            "MP_verify_a.txt:<script>",
            "MP_verify_a.txt:",
        ] {
            assert!(VerifyFile::parse(bad).is_err(), "{bad:?}");
        }
    }
}
