//! Safe parsing of WeChat's push XML into an ordered tree of fields.
//!
//! WeChat's XML is a flat `<xml>` of fields (CDATA or text), a few of them
//! nested (`ScanCodeInfo`, `SendPicsInfo`, `ArticleUrlResult`…). The parser
//! refuses DTDs (so no entity can be declared, let alone expanded: no
//! billion laughs, no external entities), resolves only XML's five
//! predefined entities and character references, and bounds depth and size.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::error::Error;

/// Deepest element nesting accepted, `<xml>` included.
pub const MAX_DEPTH: usize = 8;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 1024;

/// A field's content: text, or child fields in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// Text (CDATA and text joined, entities resolved).
    Text(String),
    /// Child elements.
    Children(Vec<(String, Node)>),
}

impl Node {
    /// The text, if this is a text node.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Children(_) => None,
        }
    }
}

fn invalid(why: impl Into<String>) -> Error {
    Error::invalid("invalid_xml", why)
}

struct Open {
    name: String,
    text: String,
    children: Vec<(String, Node)>,
}

/// Parses a document whose root is `<xml>` and returns the root's fields.
pub fn parse(xml: &str) -> Result<Vec<(String, Node)>, Error> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Vec<(String, Node)>> = None;
    let mut elements = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| invalid(format!("malformed XML: {e}")))?;
        match event {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::DocType(_) => {
                return Err(invalid("DTDs and entity declarations are not accepted"))
            }
            Event::PI(_) => return Err(invalid("processing instructions are not accepted")),
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                return Err(invalid(format!(
                    "content after the root element: <{}>",
                    e.name().as_ref()
                )));
            }
            Event::Start(e) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(invalid("too deep or too many elements"));
                }
                let name = e.name().as_ref().to_owned();
                stack.push(Open {
                    name,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Event::Empty(e) => {
                elements += 1;
                let name = e.name().as_ref().to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, Node::Text(String::new()))),
                    None if name == "xml" => root = Some(Vec::new()),
                    None => return Err(invalid("the root element must be <xml>")),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(invalid("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let text = c.xml10_content().into_owned();
                stack
                    .last_mut()
                    .ok_or_else(|| invalid("CDATA outside the root element"))?
                    .text
                    .push_str(&text);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(invalid(format!("undefined entity &{other};"))),
                    },
                    Err(_) => return Err(invalid("bad character reference")),
                };
                stack
                    .last_mut()
                    .ok_or_else(|| invalid("a reference outside the root element"))?
                    .text
                    .push(resolved);
            }
            Event::End(_) => {
                let open = stack.pop().ok_or_else(|| invalid("unbalanced end tag"))?;
                let node = if open.children.is_empty() {
                    Node::Text(open.text)
                } else {
                    Node::Children(open.children)
                };
                match (stack.last_mut(), node) {
                    (Some(parent), node) => parent.children.push((open.name, node)),
                    (None, node) if open.name == "xml" => {
                        root = Some(match node {
                            Node::Children(c) => c,
                            Node::Text(_) => Vec::new(),
                        })
                    }
                    (None, _) => return Err(invalid("the root element must be <xml>")),
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(invalid("the document ends inside an element"));
                }
                return root.ok_or_else(|| invalid("no <xml> root element"));
            }
        }
    }
}

/// Writes `text` as CDATA, splitting any `]]>` so the section cannot be closed early.
pub fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(fields: &'a [(String, Node)], name: &str) -> &'a Node {
        &fields.iter().find(|(k, _)| k == name).unwrap().1
    }

    #[test]
    fn tencent_sample_plaintext_parses() {
        let xml = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>";
        let f = parse(xml).unwrap();
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "ToUserName",
                "FromUserName",
                "CreateTime",
                "MsgType",
                "Content",
                "MsgId"
            ]
        );
        assert_eq!(field(&f, "Content").text(), Some("abcdteT"));
        assert_eq!(field(&f, "CreateTime").text(), Some("1409735668"));
    }

    #[test]
    fn nested_fields_entities_and_empty_elements() {
        let xml = "<?xml version=\"1.0\"?><xml><!-- c --><Event><![CDATA[scancode_push]]></Event><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>a&amp;b &#x4F60;&#22909;</ScanResult></ScanCodeInfo><Empty/></xml>";
        let f = parse(xml).unwrap();
        let Node::Children(scan) = field(&f, "ScanCodeInfo") else {
            panic!("nested")
        };
        assert_eq!(field(scan, "ScanResult").text(), Some("a&b 你好"));
        assert_eq!(field(&f, "Empty").text(), Some(""));
    }

    #[test]
    fn dtds_entities_and_malformed_documents_are_refused() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]><xml><Content>&lol2;</Content></xml>";
        let external = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>";
        let deep = format!(
            "<xml>{}{}</xml>",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        for bad in [
            laughs,
            external,
            "<xml><Content>&xxe;</Content></xml>",
            "<xml><a></b></xml>",
            "<xml><a>",
            "<other/>",
            "<other></other>",
            "text<xml/>",
            "<xml/><xml/>",
            "",
            "<?pi x?><xml/>",
            &deep,
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidInput {
                        code: "invalid_xml",
                        ..
                    }
                ),
                "{bad:.40}: {e:?}"
            );
        }
        assert!(parse("<xml/>").unwrap().is_empty());
    }

    #[test]
    fn cdata_cannot_be_broken_out_of() {
        let text = "a]]><evil/>";
        let doc = format!("<xml><C>{}</C></xml>", cdata(text));
        assert_eq!(parse(&doc).unwrap()[0].1.text(), Some(text));
    }
}
