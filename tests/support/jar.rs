//! A minimal cookie jar, shared by the native tests (`tests/support`) and
//! the end-to-end tests (`host/tests/common`).

use std::collections::HashMap;

/// Cookie name → value, as a browser would keep them for one site.
#[derive(Default, Clone, Debug)]
pub struct Jar(pub HashMap<String, String>);

impl Jar {
    /// Applies every `set-cookie` among `headers` (lowercase names):
    /// stores values, forgets cookies that are cleared or expired.
    pub fn absorb_headers<'a>(&mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (k, v) in headers {
            if k == "set-cookie" {
                let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
                if value.is_empty() || v.contains("Max-Age=0") {
                    self.0.remove(name);
                } else {
                    self.0.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    /// The `cookie` request header.
    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
