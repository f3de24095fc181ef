//! The `-----BEGIN ...-----` block format of creds, decorated JWT and seed
//! files (nats-io/jwt v2 `creds_utils.go`), read without knowing what the
//! blocks hold: both keys (seeds) and creds (JWTs) parse through here.

fn is_dash_line(l: &str) -> bool {
    l.len() >= 6 && l.starts_with("---") && l.ends_with("---")
}

fn is_token(l: &str) -> bool {
    !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'='))
}

/// The contents of the `-----...-----` delimited blocks, in order (the
/// blocks Go's `userConfigRE` finds).
pub fn blocks(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < lines.len() {
        if is_dash_line(lines[i]) && is_token(lines[i + 1]) && is_dash_line(lines[i + 2]) {
            out.push(lines[i + 1]);
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// The first block only: nothing after it is looked at (for reading the JWT
/// of a creds file without touching its seed).
pub fn first_block(text: &str) -> Option<&str> {
    let mut lines = text.lines().map(str::trim);
    let (mut a, mut b) = (lines.next()?, lines.next()?);
    for c in lines {
        if is_dash_line(a) && is_token(b) && is_dash_line(c) {
            return Some(b);
        }
        (a, b) = (b, c);
    }
    None
}

/// The seed in a creds file, a decorated seed file or a bare seed (Go
/// `ParseDecoratedNKey`): the second block, else the first line that starts
/// with `SO`, `SA` or `SU`.
pub fn find_seed(text: &str) -> Option<&str> {
    let b = blocks(text);
    if b.len() > 1 {
        return Some(b[1]);
    }
    text.lines().map(str::trim).find(|l| l.starts_with("SO") || l.starts_with("SA") || l.starts_with("SU"))
}

/// The JWT in a creds or decorated JWT file: the first block, else the whole
/// trimmed text (Go `ParseDecoratedJWT`).
pub fn find_jwt(text: &str) -> &str {
    blocks(text).first().copied().unwrap_or_else(|| text.trim())
}
