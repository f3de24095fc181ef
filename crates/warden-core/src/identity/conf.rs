//! A parser and renderer for the subset of the nats-server configuration
//! syntax that an authorization document uses: what warden writes and what a
//! human would write by hand.
//!
//! Accepted: keys quoted or not, separated from values by `=`, `:` or
//! whitespace; values quoted (`"..."` with `\t \n \r \" \\ \xHH` escapes, or
//! raw `'...'`), unquoted tokens (kept as text), arrays `[...]` and maps
//! `{...}` with `,`/`;`/newline separators; comments `#` and `//`.
//! A comment on the same line as an array element is kept with that element
//! (warden marks grants that way); other comments are dropped.
//! Not accepted (an error, never a panic): `include`, blocks `(...)`,
//! nesting deeper than [`MAX_DEPTH`].

use std::fmt::Write as _;

/// Maximum nesting of maps and arrays.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar; `quoted` says whether it was (or is to be) written in quotes.
    Str {
        text: String,
        quoted: bool,
    },
    Array(Vec<Element>),
    Map(Vec<Entry>),
}

impl Value {
    /// A quoted string.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str { text: s.into(), quoted: true }
    }
}

/// An array element and the comment that followed it on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub value: Value,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {msg}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

/// Parses a whole file: a top-level map without braces.
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut p = Parser { s: text.as_bytes(), text, pos: 0 };
    let entries = p.map_body(None, 0)?;
    Ok(entries)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, ParseError> {
        let before = &self.s[..self.pos.min(self.s.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0);
        Err(ParseError { line, col: self.pos - line_start + 1, msg: msg.into() })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_comment(&self) -> bool {
        match self.peek() {
            Some(b'#') => true,
            Some(b'/') => self.s.get(self.pos + 1) == Some(&b'/'),
            _ => false,
        }
    }

    /// Skips to the end of the line; returns the comment text (without `#`/`//`).
    fn comment(&mut self) -> String {
        let start = if self.peek() == Some(b'#') { self.pos + 1 } else { self.pos + 2 };
        let end = self.s[start..].iter().position(|&b| b == b'\n').map(|i| start + i).unwrap_or(self.s.len());
        self.pos = end;
        // start/end sit next to ASCII bytes, so they are char boundaries.
        self.text[start..end].trim().to_string()
    }

    /// Skips spaces and tabs (not newlines).
    fn inline_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Skips whitespace, newlines and comments.
    fn ws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                _ if self.at_comment() => {
                    self.comment();
                }
                _ => return,
            }
        }
    }

    /// Entries until `close` (or end of input for the top level).
    fn map_body(&mut self, close: Option<u8>, depth: usize) -> Result<Vec<Entry>, ParseError> {
        let mut entries = Vec::new();
        loop {
            self.ws();
            while matches!(self.peek(), Some(b',' | b';')) {
                self.pos += 1;
                self.ws();
            }
            match (self.peek(), close) {
                (None, None) => return Ok(entries),
                (None, Some(c)) => return self.err(format!("expected '{}'", c as char)),
                (Some(b), Some(c)) if b == c => {
                    self.pos += 1;
                    return Ok(entries);
                }
                _ => {}
            }
            let key = self.key()?;
            if key == "include" {
                return self.err("include is not supported here");
            }
            self.inline_ws();
            match self.peek() {
                Some(b'=' | b':') => self.pos += 1,
                Some(b'{' | b'[' | b'"' | b'\'') => {}
                Some(b) if !is_space(b) && self.pos > 0 && is_space(self.s[self.pos - 1]) => {}
                _ => return self.err(format!("expected '=', ':' or a value after key {key:?}")),
            }
            self.inline_ws();
            if matches!(self.peek(), Some(b'\n') | None) || self.at_comment() {
                return self.err(format!("missing value for key {key:?}"));
            }
            let value = self.value(depth)?;
            entries.push(Entry { key, value });
            // After a value: a separator, a newline, a comment or the closer.
            self.inline_ws();
            match self.peek() {
                None | Some(b'\n' | b',' | b';') => {}
                Some(b) if Some(b) == close => {}
                _ if self.at_comment() => {}
                _ => return self.err("expected a newline, ',' or ';' after a value"),
            }
        }
    }

    fn key(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(b'"') => self.double_quoted(),
            Some(b'\'') => self.single_quoted(),
            _ => {
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if is_space(b) || b"=:{}[],;\"'#".contains(&b) {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    return self.err("expected a key");
                }
                Ok(self.text[start..self.pos].to_string())
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth >= MAX_DEPTH {
            return self.err("nested too deeply");
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(Value::Map(self.map_body(Some(b'}'), depth + 1)?))
            }
            Some(b'[') => {
                self.pos += 1;
                self.array(depth + 1)
            }
            Some(b'"') => Ok(Value::Str { text: self.double_quoted()?, quoted: true }),
            Some(b'\'') => Ok(Value::Str { text: self.single_quoted()?, quoted: true }),
            Some(b'(') => self.err("blocks '(...)' are not supported"),
            Some(b'}' | b']' | b',' | b';' | b'=' | b':') | None => self.err("expected a value"),
            Some(_) => {
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if is_space(b) || b",;]}".contains(&b) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(Value::Str { text: self.text[start..self.pos].to_string(), quoted: false })
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        let mut items: Vec<Element> = Vec::new();
        loop {
            self.ws();
            while self.peek() == Some(b',') {
                self.pos += 1;
                self.ws();
            }
            match self.peek() {
                None => return self.err("expected ']'"),
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => {}
            }
            let value = self.value(depth)?;
            // A comment on the same line, after an optional ',', belongs to this element.
            self.inline_ws();
            let had_comma = self.peek() == Some(b',');
            if had_comma {
                self.pos += 1;
                self.inline_ws();
            }
            let comment = if self.at_comment() {
                Some(self.comment())
            } else {
                match self.peek() {
                    None | Some(b'\n' | b']') => None,
                    _ if had_comma => None,
                    _ => return self.err("expected ',', a newline or ']' after an array element"),
                }
            };
            items.push(Element { value, comment });
        }
    }

    fn double_quoted(&mut self) -> Result<String, ParseError> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let b = match self.peek() {
                        Some(b't') => b'\t',
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b'"') => b'"',
                        Some(b'\\') => b'\\',
                        Some(b'x') => {
                            let hex = self.s.get(self.pos + 1..self.pos + 3);
                            let v = hex
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 16).ok());
                            match v {
                                Some(v) => {
                                    self.pos += 2;
                                    v
                                }
                                None => return self.err("bad \\x escape"),
                            }
                        }
                        _ => return self.err("bad escape in string"),
                    };
                    out.push(b);
                    self.pos += 1;
                }
                Some(b'\n') => return self.err("newline in string"),
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        match String::from_utf8(out) {
            Ok(s) => Ok(s),
            Err(_) => self.err("string is not UTF-8"),
        }
    }

    fn single_quoted(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b'\'' {
                let s = self.text[start..self.pos].to_string();
                self.pos += 1;
                return Ok(s);
            }
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
        self.err("unterminated string")
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Renders a top-level map (no braces), one entry per line.
pub fn render(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        render_entry(&mut out, e, 0);
    }
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn render_entry(out: &mut String, e: &Entry, level: usize) {
    indent(out, level);
    render_key(out, &e.key);
    match e.value {
        Value::Map(_) => out.push(' '),
        _ => out.push_str(": "),
    }
    render_value(out, &e.value, level);
    out.push('\n');
}

fn render_key(out: &mut String, k: &str) {
    let plain = !k.is_empty() && k != "include" && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.$".contains(&b));
    if plain {
        out.push_str(k);
    } else {
        quote(out, k);
    }
}

/// Writes `s` as a double-quoted string with the escapes nats-server reads.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn render_value(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Str { text, quoted } => {
            if *quoted || !unquoted_ok(text) {
                quote(out, text);
            } else {
                out.push_str(text);
            }
        }
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for it in items {
                indent(out, level + 1);
                render_value(out, &it.value, level + 1);
                if let Some(c) = &it.comment {
                    out.push_str(" # ");
                    out.push_str(c.replace(['\n', '\r'], " ").trim());
                }
                out.push('\n');
            }
            indent(out, level);
            out.push(']');
        }
        Value::Map(entries) if entries.is_empty() => out.push_str("{}"),
        Value::Map(entries) => {
            out.push_str("{\n");
            for e in entries {
                render_entry(out, e, level + 1);
            }
            indent(out, level);
            out.push('}');
        }
    }
}

/// Whether an unquoted token reads back as itself.
fn unquoted_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['#', '{', '[', '"', '\'', '(', '=', ':'])
        && !s.starts_with("//")
        && !s.bytes().any(|b| is_space(b) || b",;]}".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Value {
        Value::str(t)
    }

    #[test]
    fn parses_both_separators_and_comments() {
        let text = r#"
# a comment
a = 1 // trailing
b: "x\ty" ; c 'raw\n'
m { k: v, l = [1, 2
  3] }
"#;
        let got = parse(text).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].key, "a");
        assert_eq!(got[0].value, Value::Str { text: "1".into(), quoted: false });
        assert_eq!(got[1].value, s("x\ty"));
        assert_eq!(got[2].value, s("raw\\n"));
        let Value::Map(m) = &got[3].value else { panic!() };
        assert_eq!(m[0].key, "k");
        let Value::Array(a) = &m[1].value else { panic!() };
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn keeps_same_line_comments_on_array_elements() {
        let got = parse("l: [\n \"a\" # one\n \"b\", // two\n \"c\"\n # own line\n]").unwrap();
        let Value::Array(a) = &got[0].value else { panic!() };
        let comments: Vec<_> = a.iter().map(|e| e.comment.clone()).collect();
        assert_eq!(comments, vec![Some("one".to_string()), Some("two".to_string()), None]);
    }

    #[test]
    fn errors_not_panics() {
        for bad in [
            "a",
            "a =",
            "a = [",
            "a = {",
            "a = \"x",
            "a = \"\\q\"",
            "a = \"\\x4\"",
            "include ./x.conf",
            "a = (x)",
            "a = }",
            "\"k",
            "a = [1 2]",
            "a = 1 2",
            &"a=[".repeat(100),
            "a = \"\\xff\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn render_parse_round_trip() {
        let v = vec![Entry {
            key: "weird key".into(),
            value: Value::Map(vec![Entry {
                key: "l".into(),
                value: Value::Array(vec![
                    Element { value: s("a\"b\\c\nd\u{1}é"), comment: Some("note".into()) },
                    Element { value: Value::Str { text: "true".into(), quoted: false }, comment: None },
                    Element { value: Value::Array(vec![]), comment: None },
                    Element { value: Value::Map(vec![]), comment: None },
                ]),
            }]),
        }];
        let text = render(&v);
        assert_eq!(parse(&text).unwrap(), v, "{text}");
    }
}
