//! The append-only audit log: one JSON line per action, in
//! `$XDG_STATE_HOME/warden/audit.log` (mode 0600). Who (the uid's name @host), what,
//! target, when, and the result of every step. Never a secret: every string
//! goes through [`scrub`] before it is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::action::report::ActionReport;

/// `$XDG_STATE_HOME/warden/audit.log` (or `~/.local/state/...`).
pub fn default_path() -> PathBuf {
    crate::config::paths::state_dir().join("audit.log")
}

/// `<user>@hostname`, the user being the name of the process's real uid
/// (getpwuid, `uid <n>` without one): `$USER` and `$LOGNAME` are whatever
/// the caller's environment says, so an audit line never takes them.
pub fn actor() -> String {
    format!("{}@{}", uid_name(), hostname())
}

/// The name of the real uid from the password database (`uid <n>` if it has none).
pub fn uid_name() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes into our buffers only.
    let uid = unsafe { libc::getuid() };
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc == 0 && !out.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    format!("uid {uid}")
}

/// Where an action ran: recorded on its audit line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Where {
    /// Kubernetes context (`None`: no Kubernetes).
    pub kube_context: Option<String>,
    /// NATS servers that answered, sorted.
    pub servers: Vec<String>,
    /// `jwt` or `spiffe`.
    pub mode: String,
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // or truncates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[derive(Debug, Serialize)]
struct StepLine {
    step: String,
    ok: bool,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Line {
    time: String,
    who: String,
    kube_context: Option<String>,
    servers: Vec<String>,
    mode: String,
    action: String,
    target: String,
    result: &'static str,
    steps: Vec<StepLine>,
}

/// Replaces anything that could be secret: nkey seeds (`S` + role letter +
/// 56 base32 characters), JWTs (`eyJ...` with two dots), creds blocks, PEM
/// private keys, and the value of any `password`/`token`/`secret`-like key
/// (`password=x`, `token: "x"`, `"pass":"x"`, `Bearer x`, URL userinfo).
pub fn scrub(text: &str) -> String {
    let text = &redact_secret_values(&redact_pem_keys(text));
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            out.push_str(&scrub_word(word));
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '=') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn scrub_word(w: &str) -> String {
    let seed_like =
        w.len() >= 50 && w.starts_with('S') && w.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c));
    let jwt_like = w.contains("eyJ") && w.matches('.').count() >= 2;
    if seed_like {
        "<seed redacted>".into()
    } else if jwt_like {
        "<jwt omitted>".into()
    } else if w.contains("BEGIN") && w.contains("NKEY") {
        "<creds redacted>".into()
    } else {
        w.to_string()
    }
}

/// `-----BEGIN ... PRIVATE KEY-----` ... `-----END ...-----` blocks (an
/// unterminated one to the end of the text).
fn redact_pem_keys(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("-----BEGIN ") {
        let Some(head_end) = rest[i + 11..].find("-----").map(|j| i + 11 + j + 5) else { break };
        if !rest[i..head_end].contains("PRIVATE KEY") {
            out.push_str(&rest[..head_end]);
            rest = &rest[head_end..];
            continue;
        }
        out.push_str(&rest[..i]);
        out.push_str("<private key redacted>");
        rest = match rest[head_end..].find("-----END ") {
            Some(j) => {
                let end = head_end + j + 9;
                match rest[end..].find("-----") {
                    Some(k) => &rest[end + k + 5..],
                    None => "",
                }
            }
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Keys whose value is a secret, matched case-insensitively at the end of
/// a key name (`NATS_PASSWORD`, `authToken`, `client_secret`).
const SECRET_KEYS: [&str; 6] = ["password", "passwd", "pass", "token", "secret", "bearer"];

/// The value after a secret-like key (`key=v`, `key: v`, `"key":"v"`,
/// `Bearer v`) and the password of URL userinfo (`nats://u:p@h`) become
/// `***`.
fn redact_secret_values(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    if lower.len() != chars.len() {
        // Case folding changed the length (rare scripts): be conservative.
        return if SECRET_KEYS.iter().any(|k| text.to_lowercase().contains(k)) {
            "<redacted>".into()
        } else {
            text.into()
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let key_end = SECRET_KEYS.iter().find_map(|k| {
            let k: Vec<char> = k.chars().collect();
            let end = i + k.len();
            (end <= chars.len() && lower[i..end] == k[..] && chars.get(end).is_none_or(|c| !c.is_alphanumeric()))
                .then_some(end)
        });
        let Some(mut j) = key_end else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        out.extend(&chars[i..j]);
        // Separator: quotes, spaces, then one `=` or `:` (or a space after
        // `bearer`), then spaces and an opening quote.
        let sep_start = j;
        while j < chars.len() && matches!(chars[j], '"' | '\'' | ' ') {
            j += 1;
        }
        let has_sep = j < chars.len() && matches!(chars[j], '=' | ':');
        let bearer = lower[i..sep_start].iter().collect::<String>() == "bearer" && j > sep_start;
        if !has_sep && !bearer {
            out.extend(&chars[sep_start..j]);
            i = j;
            continue;
        }
        if has_sep {
            j += 1;
        }
        while j < chars.len() && matches!(chars[j], '"' | '\'' | ' ') {
            j += 1;
        }
        out.extend(&chars[sep_start..j]);
        let v_start = j;
        while j < chars.len() && !matches!(chars[j], '"' | '\'' | ' ' | ',' | ';' | '}' | '&' | '\n') {
            j += 1;
        }
        if j > v_start {
            out.push_str("***");
        }
        i = j;
    }
    redact_url_passwords(&out)
}

/// `scheme://user:password@host` -> `scheme://user:***@host`.
fn redact_url_passwords(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = i + 3;
        let tail = &rest[after..];
        let auth_end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '"').unwrap_or(tail.len());
        match tail[..auth_end].rfind('@') {
            Some(at) if tail[..at].contains(':') => {
                let colon = tail[..at].find(':').unwrap_or(at);
                out.push_str(&rest[..after]);
                out.push_str(&tail[..colon + 1]);
                out.push_str("***");
                rest = &tail[at..];
            }
            _ => {
                out.push_str(&rest[..after]);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Appends one line for `report` to the log at `path` (created 0600).
pub fn append(path: &Path, who: &str, at: &Where, report: &ActionReport) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let line = Line {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        who: scrub(who),
        kube_context: at.kube_context.as_deref().map(scrub),
        servers: at.servers.iter().map(|s| scrub(s)).collect(),
        mode: at.mode.clone(),
        action: report.action.clone(),
        target: scrub(&report.target),
        result: report.outcome(),
        steps: report
            .steps
            .iter()
            .map(|s| StepLine {
                step: scrub(&s.step),
                ok: s.result.is_ok(),
                detail: scrub(match &s.result {
                    Ok(d) | Err(d) => d,
                }),
            })
            .collect(),
    };
    let mut text = serde_json::to_string(&line)?;
    text.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening the audit log {}", path.display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("writing the audit log {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_is_the_uid_not_the_environment() {
        // $USER is the caller's to set; the uid is not.
        // (tests/integration/jwt_actions.rs runs the binary with a spoofed $USER)
        let a = actor();
        assert!(a.starts_with(&format!("{}@", uid_name())), "{a}");
    }
    use crate::identity::action::report::Step;

    #[test]
    fn scrub_removes_seeds_and_jwts_but_keeps_public_keys() {
        let seed = "SUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM";
        let public = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
        let t = format!("key {seed} and {public}, jwt eyJhbGci.eyJzdWIi.c2ln end");
        let s = scrub(&t);
        assert!(!s.contains(seed), "{s}");
        assert!(!s.contains("eyJ"), "{s}");
        assert!(s.contains(public), "{s}");
        assert!(s.ends_with(" end"));
    }

    #[test]
    fn the_uid_has_a_name() {
        let n = uid_name();
        assert!(!n.is_empty() && !n.contains('\0'), "{n}");
    }

    #[test]
    fn append_writes_0600_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/warden/audit.log");
        let mut r = ActionReport::new("revoke", "ns/wf");
        r.steps.push(Step::ok("revocations", "added SUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM"));
        r.steps.push(Step::err("push", "n1: timeout"));
        let at =
            Where { kube_context: Some("prod".into()), servers: vec!["n1".into(), "n2".into()], mode: "jwt".into() };
        append(&path, "me@host", &at, &r).unwrap();
        append(&path, "me@host", &at, &r).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(!text.contains("SUAIO3"));
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["action"], "revoke");
        assert_eq!((v["kube_context"].as_str(), v["mode"].as_str()), (Some("prod"), Some("jwt")));
        assert_eq!(v["servers"], serde_json::json!(["n1", "n2"]));
        assert_eq!(v["result"], "partial");
        assert_eq!(v["steps"][1]["ok"], false);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn passwords_tokens_and_private_keys_are_scrubbed() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBsecretkeymaterial\n-----END EC PRIVATE KEY-----";
        let text = format!(
            "connect failed: password=hunter2 token: \"tok-123\" {{\"pass\":\"pw9\"}} Authorization: Bearer abc.def \
             nats://app:s3cret@nats:4222 NATS_PASSWORD=envpw client_secret=cs1 {pem} cert -----BEGIN CERTIFICATE-----x"
        );
        let out = scrub(&text);
        for secret in ["hunter2", "tok-123", "pw9", "abc.def", "s3cret", "envpw", "cs1", "secretkeymaterial"] {
            assert!(!out.contains(secret), "{secret} left in {out}");
        }
        assert!(out.contains("<private key redacted>") && out.contains("BEGIN CERTIFICATE"), "{out}");
        assert!(out.contains("nats://app:***@nats:4222"), "{out}");
        // Ordinary words stay.
        assert_eq!(scrub("passed 3 checks; token bucket ok"), "passed 3 checks; token bucket ok");
    }
}
