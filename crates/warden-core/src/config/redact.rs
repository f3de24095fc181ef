//! Parser messages without the values they quote. serde's messages quote
//! what was read (`invalid type: integer `5`, expected a string`,
//! `invalid type: string "x"`, `unknown variant `x``), which may be a
//! password or a token in a config file or a natscli context. Names stay:
//! a key (`unknown field `pasword``, `duplicate key `token``) and, after
//! `expected`, the schema's own words (`expected one of `url`, `creds``).

/// `msg` with every quoted value replaced by `***`.
pub fn without_values(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' && c != '`' {
            out.push(c);
            continue;
        }
        // The quoted text, up to the closing quote (`"..."` is Debug-escaped).
        let mut quoted = String::new();
        let mut closed = false;
        while let Some(q) = chars.next() {
            if q == c {
                closed = true;
                break;
            }
            if q == '\\' && c == '"' {
                quoted.push(q);
                if let Some(e) = chars.next() {
                    quoted.push(e);
                }
                continue;
            }
            quoted.push(q);
        }
        let name = closed && (out.ends_with("field ") || out.ends_with("key ") || out.contains("expected"));
        out.push(c);
        out.push_str(if name { &quoted } else { "***" });
        if closed {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn values_go_names_stay() {
        for (msg, want) in [
            ("invalid type: integer `975310001`, expected a string", "invalid type: integer `***`, expected a string"),
            (
                "invalid type: string \"hunter2\", expected a boolean",
                "invalid type: string \"***\", expected a boolean",
            ),
            ("invalid type: string \"a\\\"b`c\", expected x", "invalid type: string \"***\", expected x"),
            (
                "unknown variant `hunter2`, expected `jwt` or `spiffe`",
                "unknown variant `***`, expected `jwt` or `spiffe`",
            ),
            (
                "unknown field `pasword`, expected one of `url`, `creds`",
                "unknown field `pasword`, expected one of `url`, `creds`",
            ),
            ("duplicate key `token`", "duplicate key `token`"),
            (
                "invalid type: floating point `97531.25`, expected a string at line 1 column 30",
                "invalid type: floating point `***`, expected a string at line 1 column 30",
            ),
            ("unterminated \"hunter2", "unterminated \"***"),
        ] {
            assert_eq!(without_values(msg), want);
        }
    }
}
