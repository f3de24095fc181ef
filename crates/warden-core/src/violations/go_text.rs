//! Go-formatted text in nats-server log lines: `%q` strings and the
//! `getAuthUser` forms (server/client.go), shared by the line parsers.

/// How the client authenticated, as the server labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogUser {
    /// `user:<name>` / `User "<name>"` (also a SPIFFE ID in verify_and_map mode).
    User(String),
    /// `nkey:<U...>` / `Nkey "<U...>"`.
    Nkey(String),
    /// `jwt:<user public key>` / `JWT User "<U...>"`.
    Jwt(String),
    /// `token` / `Token "..."`. The token itself is never kept: 2.10.0-2.10.27
    /// and 2.11.0-2.11.1 log it raw (`getAuthUser` in server/client.go), later
    /// ones `Token "[REDACTED]"`; the parser drops the quoted value.
    Token,
    /// No user in the line (or `User "N/A"`).
    None,
}

impl LogUser {
    /// The user name or key, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            LogUser::User(s) | LogUser::Nkey(s) | LogUser::Jwt(s) => Some(s),
            LogUser::Token | LogUser::None => None,
        }
    }
}

/// `getAuthUser` (server/client.go) at the start of `s`: `JWT User "U.."`,
/// `Nkey "U.."`, `User "name"` (`User "N/A"` = none), `Token "..."` (the
/// value is dropped here: older servers write the raw token). Returns the
/// user and the rest after the closing quote.
pub fn parse_auth_user(s: &str) -> Option<(LogUser, &str)> {
    for (prefix, make) in [
        ("JWT User ", LogUser::Jwt as fn(String) -> LogUser),
        ("Nkey ", LogUser::Nkey),
        ("User ", LogUser::User),
        ("Token ", |_| LogUser::Token),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            let (u, rest) = unquote_go(rest)?;
            let user = if prefix == "User " && u == "N/A" { LogUser::None } else { make(u) };
            return Some((user, rest));
        }
    }
    None
}

/// Reads a Go `%q` string at the start of `s` (which must begin with `"`):
/// returns the unescaped value and the text after the closing quote.
/// Invalid UTF-8 produced by `\x` escapes is replaced (lossy).
pub fn unquote_go(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('"')?;
    let bytes = rest.as_bytes();
    // Fast path: no escapes before the closing quote.
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((rest[..i].to_string(), &rest[i + 1..])),
            b'\\' => break,
            _ => i += 1,
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len().min(256));
    out.extend_from_slice(&bytes[..i]);
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' => {
                let v = String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                return Some((v, rest.get(i + 1..)?));
            }
            b'\\' => {
                let e = *bytes.get(i + 1)?;
                i += 2;
                match e {
                    b'"' | b'\\' | b'\'' => out.push(e),
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(0x0b),
                    b'x' => {
                        out.push(hex_value(bytes.get(i..i + 2)?)? as u8);
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let n = if e == b'u' { 4 } else { 8 };
                        let cp = hex_value(bytes.get(i..i + n)?)?;
                        let ch = char::from_u32(cp)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    b'0'..=b'7' => {
                        let d = bytes.get(i - 1..i + 2)?;
                        let mut v: u32 = 0;
                        for &x in d {
                            if !(b'0'..=b'7').contains(&x) {
                                return None;
                            }
                            v = v * 8 + u32::from(x - b'0');
                        }
                        out.push(u8::try_from(v).ok()?);
                        i += 2;
                    }
                    _ => return None,
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

fn hex_value(d: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &x in d {
        v = v.checked_mul(16)? + char::from(x).to_digit(16)?;
    }
    Some(v)
}
