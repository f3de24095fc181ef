//! What reaches across accounts: an account JWT's imports and exports
//! (jwt v2 `v2/imports.go`, `v2/exports.go`: `type` "stream" or "service",
//! `token_req` exports need an activation token per importer, carried in the
//! import's `token`, itself a JWT whose `exp` bounds the import; an import
//! with an expired activation is dropped by nats-server, `server/accounts.go`
//! `checkActivation`).

use serde::Serialize;

use super::jwt::{Account, Export, Import};

/// One import or export, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    /// `import` or `export`.
    pub side: &'static str,
    /// `stream` or `service` (as written; "stream" when empty, Go's default).
    pub kind: String,
    pub subject: String,
    /// Import: the exporting account.
    pub account: String,
    /// Import: the local subject (`local_subject`, or legacy `to`).
    pub local: String,
    /// Export: importers need an activation token.
    pub token_required: bool,
    /// Import: an activation token is present.
    pub has_token: bool,
    /// Import: the activation token's `exp` (unix seconds, None: never or unreadable).
    pub token_expires: Option<i64>,
    /// Import: the activation token could not be read.
    pub token_error: Option<String>,
    /// Export: revoked importers.
    pub revocations: usize,
}

impl Reach {
    /// `import service orders.> from ACC… as local.> (token expires in 2h)`;
    /// `now` is unix seconds.
    pub fn describe(&self, now: i64) -> String {
        let short = |k: &str| if k.len() > 12 { format!("{}…", &k[..12]) } else { k.to_string() };
        let mut s = format!("{} {} {}", self.side, self.kind, self.subject);
        if self.side == "import" {
            s.push_str(&format!(" from {}", short(&self.account)));
            if !self.local.is_empty() && self.local != self.subject {
                s.push_str(&format!(" as {}", self.local));
            }
            if let Some(e) = &self.token_error {
                s.push_str(&format!(" (activation token unreadable: {e})"));
            } else if self.has_token {
                match self.token_expires {
                    Some(exp) if exp <= now => s.push_str(" (activation EXPIRED: the server drops it)"),
                    Some(exp) => s.push_str(&format!(" (activation expires in {})", left(exp - now))),
                    None => s.push_str(" (activation never expires)"),
                }
            }
        } else {
            if self.token_required {
                s.push_str(" (activation token required)");
            } else {
                s.push_str(" (public)");
            }
            if self.revocations > 0 {
                s.push_str(&format!(", {} revoked", self.revocations));
            }
        }
        s
    }

    pub fn expired(&self, now: i64) -> bool {
        self.token_expires.is_some_and(|e| e <= now)
    }
}

/// Coarse time left (`45m`, `5h`, `3d`): what a table or a finding needs.
pub(crate) fn left(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn kind(k: &str) -> String {
    if k.is_empty() { "stream".into() } else { k.to_string() }
}

/// The `exp` of an activation token, read without verification (display).
fn token_exp(token: &str) -> Result<Option<i64>, String> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(payload.trim_end_matches('=').as_bytes())
        .map_err(|_| "not base64url".to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| "not JSON".to_string())?;
    Ok(v.get("exp").and_then(serde_json::Value::as_i64).filter(|e| *e > 0))
}

fn import(i: &Import) -> Reach {
    let (exp, err) = if i.token.is_empty() {
        (None, None)
    } else {
        match token_exp(&i.token) {
            Ok(e) => (e, None),
            Err(e) => (None, Some(e)),
        }
    };
    Reach {
        side: "import",
        kind: kind(&i.kind),
        subject: i.subject.clone(),
        account: i.account.clone(),
        local: if i.local_subject.is_empty() { i.to.clone() } else { i.local_subject.clone() },
        token_required: false,
        has_token: !i.token.is_empty(),
        token_expires: exp,
        token_error: err,
        revocations: 0,
    }
}

fn export(e: &Export) -> Reach {
    Reach {
        side: "export",
        kind: kind(&e.kind),
        subject: e.subject.clone(),
        account: String::new(),
        local: String::new(),
        token_required: e.token_req,
        has_token: false,
        token_expires: None,
        token_error: None,
        revocations: e.revocations.len(),
    }
}

/// Every import then every export of an account.
pub fn of_account(a: &Account) -> Vec<Reach> {
    a.imports.iter().map(import).chain(a.exports.iter().map(export)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_and_exports_in_words() {
        let claims = |exp: i64| {
            let p = data_encoding::BASE64URL_NOPAD.encode(format!("{{\"exp\":{exp}}}").as_bytes());
            format!("e30.{p}.sig")
        };
        let mut a = Account::default();
        a.imports.push(Import {
            subject: "orders.>".into(),
            account: "AEXPORTERXXXXXXXX".into(),
            kind: "service".into(),
            token: claims(1_000),
            local_subject: "shop.orders.>".into(),
            ..Default::default()
        });
        a.imports.push(Import {
            subject: "feed".into(),
            account: "AB".into(),
            token: "garbage".into(),
            ..Default::default()
        });
        a.exports.push(Export {
            subject: "prices.>".into(),
            kind: "stream".into(),
            token_req: true,
            ..Default::default()
        });
        let r = of_account(&a);
        assert_eq!(
            r[0].describe(900),
            "import service orders.> from AEXPORTERXXX… as shop.orders.> (activation expires in 1m)"
        );
        assert!(r[0].expired(1_000));
        assert!(r[0].describe(2_000).contains("EXPIRED"));
        assert_eq!(r[1].describe(0), "import stream feed from AB (activation token unreadable: not a JWT)");
        assert_eq!(r[2].describe(0), "export stream prices.> (activation token required)");
    }
}
