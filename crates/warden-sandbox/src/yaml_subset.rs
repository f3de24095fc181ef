//! A small YAML reader for the manifests in `deploy/crds/` (the workspace
//! has no YAML crate): block mappings and sequences, plain, quoted and
//! block (`|`, `>`) scalars, one-line flow collections, comments and `---`
//! document separators. Anchors, aliases, tags and multi-line flow
//! collections are errors, never guesses. To be replaced by
//! `KubeState::apply_manifest` once the double has it.

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

/// Every document of a multi-document YAML text (empty ones skipped).
pub fn parse_documents(src: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for raw in src.lines() {
        if raw.trim_end() == "---" || raw.starts_with("--- ") {
            docs.push(std::mem::take(&mut cur));
        } else {
            cur.push(raw);
        }
    }
    docs.push(cur);
    let mut out = Vec::new();
    for d in docs {
        let v = parse_lines(&d)?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn parse_lines(raw: &[&str]) -> Result<Value> {
    let lines: Vec<Line> = raw
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let indent = l.len() - l.trim_start_matches(' ').len();
            Line { no: i + 1, indent, text: l[indent..].trim_end() }
        })
        .collect();
    let mut p = Parser { raw, lines, pos: 0 };
    p.skip_blank();
    if p.pos >= p.lines.len() {
        return Ok(Value::Null);
    }
    let indent = p.lines[p.pos].indent;
    let v = p.block(indent)?;
    p.skip_blank();
    if let Some(l) = p.lines.get(p.pos) {
        bail!("line {}: unexpected content {:?}", l.no, l.text);
    }
    Ok(v)
}

struct Parser<'a> {
    raw: &'a [&'a str],
    lines: Vec<Line<'a>>,
    pos: usize,
}

fn is_blank(text: &str) -> bool {
    text.is_empty() || text.starts_with('#')
}

impl Parser<'_> {
    fn skip_blank(&mut self) {
        while self.lines.get(self.pos).is_some_and(|l| is_blank(l.text)) {
            self.pos += 1;
        }
    }

    /// The node starting at the current line, indented `indent`.
    fn block(&mut self, indent: usize) -> Result<Value> {
        self.skip_blank();
        let l = &self.lines[self.pos];
        if l.text.starts_with("- ") || l.text == "-" { self.sequence(indent) } else { self.mapping(indent) }
    }

    fn sequence(&mut self, indent: usize) -> Result<Value> {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            let Some(l) = self.lines.get(self.pos) else { break };
            if l.indent != indent || !(l.text.starts_with("- ") || l.text == "-") {
                if l.indent > indent {
                    bail!("line {}: bad indentation", l.no);
                }
                break;
            }
            let rest = l.text[1..].trim_start();
            let inner = indent + (l.text.len() - rest.len());
            if rest.is_empty() || rest.starts_with('#') {
                self.pos += 1;
                items.push(self.nested(indent)?);
            } else if rest.starts_with("- ") || split_key(rest).is_some() {
                // An inline node: re-read this line as if it began at `inner`.
                self.lines[self.pos] = Line { no: l.no, indent: inner, text: rest };
                items.push(self.block(inner)?);
            } else {
                let no = l.no;
                self.pos += 1;
                items.push(self.value(rest, indent, no)?);
            }
        }
        Ok(Value::Array(items))
    }

    fn mapping(&mut self, indent: usize) -> Result<Value> {
        let mut map = Map::new();
        loop {
            self.skip_blank();
            let Some(l) = self.lines.get(self.pos) else { break };
            if l.indent < indent {
                break;
            }
            if l.indent > indent {
                bail!("line {}: bad indentation", l.no);
            }
            if l.text.starts_with("- ") {
                break;
            }
            let no = l.no;
            let (k, rest) = split_key(l.text).ok_or_else(|| anyhow!("line {no}: expected `key: value`"))?;
            let key = match scalar(k, no)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.pos += 1;
            let v = if rest.is_empty() || rest.starts_with('#') {
                self.nested_or_seq(indent)?
            } else {
                self.value(rest, indent, no)?
            };
            if map.insert(key.clone(), v).is_some() {
                bail!("line {no}: duplicate key {key:?}");
            }
        }
        Ok(Value::Object(map))
    }

    /// After `key:`: a more indented node, or a sequence at the same indent.
    fn nested_or_seq(&mut self, indent: usize) -> Result<Value> {
        self.skip_blank();
        match self.lines.get(self.pos) {
            Some(n) if n.indent == indent && (n.text.starts_with("- ") || n.text == "-") => self.sequence(indent),
            _ => self.nested(indent),
        }
    }

    fn nested(&mut self, indent: usize) -> Result<Value> {
        self.skip_blank();
        match self.lines.get(self.pos) {
            Some(n) if n.indent > indent => {
                let i = n.indent;
                self.block(i)
            }
            _ => Ok(Value::Null),
        }
    }

    /// The value after `key: ` or `- ` on line `no`.
    fn value(&mut self, text: &str, indent: usize, no: usize) -> Result<Value> {
        let text = strip_comment(text);
        if let Some(style) =
            text.strip_prefix('|').map(|s| ('|', s)).or_else(|| text.strip_prefix('>').map(|s| ('>', s)))
        {
            return self.block_scalar(style.0, style.1.trim(), indent, no);
        }
        if text.starts_with('{') || text.starts_with('[') {
            let mut f = Flow { s: text.as_bytes(), i: 0, no };
            let v = f.node()?;
            f.ws();
            if f.i != f.s.len() {
                bail!("line {no}: trailing characters after a flow collection");
            }
            return Ok(v);
        }
        scalar(text, no)
    }

    fn block_scalar(&mut self, style: char, chomp: &str, indent: usize, no: usize) -> Result<Value> {
        let keep = match chomp {
            "" => "clip",
            "-" => "strip",
            "+" => "keep",
            _ => bail!("line {no}: unsupported block scalar header"),
        };
        let mut body: Vec<String> = Vec::new();
        let mut block_indent = None;
        while let Some(l) = self.lines.get(self.pos) {
            let raw = self.raw[l.no - 1];
            if raw.trim().is_empty() {
                body.push(String::new());
                self.pos += 1;
                continue;
            }
            if l.indent <= indent {
                break;
            }
            let bi = *block_indent.get_or_insert(l.indent);
            if l.indent < bi {
                bail!("line {}: bad block scalar indentation", l.no);
            }
            body.push(raw[bi..].trim_end().to_string());
            self.pos += 1;
        }
        let trailing = body.iter().rev().take_while(|l| l.is_empty()).count();
        let content = &body[..body.len() - trailing];
        let mut s = if style == '|' {
            content.join("\n")
        } else {
            let mut out = String::new();
            for (i, l) in content.iter().enumerate() {
                if i > 0 {
                    out.push(if l.is_empty() || content[i - 1].is_empty() { '\n' } else { ' ' });
                }
                out.push_str(l);
            }
            out
        };
        match keep {
            "clip" if !content.is_empty() => s.push('\n'),
            "keep" => s.push_str(&"\n".repeat(trailing + 1)),
            _ => {}
        }
        Ok(Value::String(s))
    }
}

/// `key: rest` (rest may be empty), honouring quoted keys.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'"') | Some(b'\'')) {
        let q = b[0];
        i = 1;
        while i < b.len() && b[i] != q {
            i += if b[i] == b'\\' && q == b'"' { 2 } else { 1 };
        }
        i += 1;
    }
    while i < b.len() {
        if b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ') {
            return Some((text[..i].trim_end(), text[i + 1..].trim()));
        }
        if b[i] == b'#' && i > 0 && b[i - 1] == b' ' {
            return None;
        }
        i += 1;
    }
    None
}

/// Drops a trailing ` # comment` outside quotes.
fn strip_comment(text: &str) -> &str {
    let b = text.as_bytes();
    let mut quote = None;
    for i in 0..b.len() {
        match (quote, b[i]) {
            (None, b'"' | b'\'') => quote = Some(b[i]),
            (Some(q), c) if c == q => quote = None,
            (None, b'#') if i > 0 && b[i - 1] == b' ' => return text[..i].trim_end(),
            _ => {}
        }
    }
    text
}

fn scalar(text: &str, no: usize) -> Result<Value> {
    let t = strip_comment(text).trim();
    if let Some(inner) = t.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or_else(|| anyhow!("line {no}: unterminated string"))?;
        return serde_json::from_str::<String>(&format!("\"{inner}\""))
            .map(Value::String)
            .map_err(|e| anyhow!("line {no}: bad double-quoted string: {e}"));
    }
    if let Some(inner) = t.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'').ok_or_else(|| anyhow!("line {no}: unterminated string"))?;
        return Ok(Value::String(inner.replace("''", "'")));
    }
    if t.starts_with(['&', '*', '!', '%', '@', '`']) {
        bail!("line {no}: unsupported YAML ({t:?})");
    }
    Ok(match t {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => match t.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(t.to_string()),
        },
    })
}

/// A one-line flow collection: `{a: b, c: [d, "e"]}`.
struct Flow<'a> {
    s: &'a [u8],
    i: usize,
    no: usize,
}

impl Flow<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn node(&mut self) -> Result<Value> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Value::Object(m));
                    }
                    let k = match self.atom(true)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.ws();
                    let v = if self.s.get(self.i) == Some(&b':') {
                        self.i += 1;
                        self.node()?
                    } else {
                        Value::Null
                    };
                    m.insert(k, v);
                    if !self.sep(b'}')? {
                        return Ok(Value::Object(m));
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Value::Array(a));
                    }
                    a.push(self.node()?);
                    if !self.sep(b']')? {
                        return Ok(Value::Array(a));
                    }
                }
            }
            _ => self.atom(false),
        }
    }

    /// After an item: `,` (true: more follow) or the closer (false).
    fn sep(&mut self, close: u8) -> Result<bool> {
        self.ws();
        match self.s.get(self.i) {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(&c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => bail!("line {}: unterminated flow collection", self.no),
        }
    }

    fn atom(&mut self, key: bool) -> Result<Value> {
        self.ws();
        let start = self.i;
        if let Some(&q @ (b'"' | b'\'')) = self.s.get(self.i) {
            self.i += 1;
            while self.i < self.s.len() && self.s[self.i] != q {
                self.i += if self.s[self.i] == b'\\' && q == b'"' { 2 } else { 1 };
            }
            if self.i >= self.s.len() {
                bail!("line {}: unterminated string", self.no);
            }
            self.i += 1;
        } else {
            while let Some(&c) = self.s.get(self.i) {
                let colon_end = c == b':' && matches!(self.s.get(self.i + 1), Some(b' ') | None);
                if c == b',' || c == b']' || c == b'}' || (key && colon_end) {
                    break;
                }
                if matches!(c, b'[' | b'{') {
                    bail!("line {}: unexpected {:?}", self.no, c as char);
                }
                self.i += 1;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| anyhow!("line {}: {e}", self.no))?;
        scalar(text.trim(), self.no)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_flow_and_scalars() {
        let src = "# c\na: 1\nb:\n  - x\n  - k: v\n    n: true\n  - [p, 'q r', \"s\\n\"]\nc: {type: string, format: date-time}\nd: |-\n  one\n  two\ne: >\n  f g\n  h\nf: \"{x} y\" # trailing\ng:\n- 1\nh: ~\n";
        let v = &parse_documents(src).unwrap()[0];
        assert_eq!(
            *v,
            json!({"a": 1, "b": ["x", {"k": "v", "n": true}, ["p", "q r", "s\n"]],
                   "c": {"type": "string", "format": "date-time"}, "d": "one\ntwo", "e": "f g h\n",
                   "f": "{x} y", "g": [1], "h": null})
        );
    }

    #[test]
    fn documents_and_garbage() {
        assert_eq!(parse_documents("---\na: b\n---\n---\nc: d\n").unwrap().len(), 2);
        for bad in ["a: &x 1", "a: [1, 2", "a: b\n   c: d", "a: \"x", "a: 1\na: 2", "- a\nb: c"] {
            assert!(parse_documents(bad).is_err(), "{bad:?} should be an error");
        }
    }
}
