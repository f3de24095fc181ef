//! An operator-mode (decentralized JWT auth) NATS world: operator with a
//! signing key, the `SYS` system account, and an `APP` account with
//! JetStream and an account signing key; the nats-server config body that
//! trusts it (full resolver, preloaded accounts); minting users; pushing a
//! re-signed account JWT to `$SYS.REQ.CLAIMS.UPDATE`.
//!
//! Used by `warden sandbox` and the integration tests. All key material is
//! in memory ([`SigningKey`], never shown); only creds files (0600) and JWTs
//! (public) are written.

use std::path::{Path, PathBuf};

use anyhow::Result;

use warden_core::nats::jwt::{
    self, AccountClaims, AccountSigningKey, JetStreamLimits, KeyKind, OperatorClaims, Permission, SigningKey,
    UserClaims,
};

/// The subject a full resolver takes account JWT updates on.
pub use warden_core::nats::claims_update::CLAIMS_UPDATE_SUBJECT;

/// What to mint a user JWT with.
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub name: String,
    pub pub_allow: Vec<String>,
    pub pub_deny: Vec<String>,
    pub sub_allow: Vec<String>,
    pub sub_deny: Vec<String>,
    /// `exp`, unix seconds.
    pub expires: Option<i64>,
    /// `nbf`, unix seconds.
    pub not_before: Option<i64>,
}

impl UserSpec {
    /// The default identity of a tentacle: user `tentacle.{ns}.{wf}`, pub and
    /// sub `tentacular.{ns}.{wf}.>`, sub `_INBOX.>` for request/reply.
    pub fn tentacle(namespace: &str, workload: &str) -> UserSpec {
        let scope = format!("tentacular.{namespace}.{workload}.>");
        UserSpec {
            name: format!("tentacle.{namespace}.{workload}"),
            pub_allow: vec![scope.clone()],
            sub_allow: vec![scope, "_INBOX.>".to_string()],
            ..Default::default()
        }
    }

    pub fn expires_at(mut self, unix: i64) -> UserSpec {
        self.expires = Some(unix);
        self
    }

    /// The user claims for `user_public` (not yet signed).
    pub fn claims(&self, user_public: &str) -> UserClaims {
        let mut c = UserClaims::new_user(user_public, &self.name);
        c.nats.permissions.publish = Permission { allow: self.pub_allow.clone(), deny: self.pub_deny.clone() };
        c.nats.permissions.subscribe = Permission { allow: self.sub_allow.clone(), deny: self.sub_deny.clone() };
        c.std.expires = self.expires.unwrap_or(0);
        c.std.not_before = self.not_before.unwrap_or(0);
        c
    }
}

/// A minted user.
#[derive(Debug, Clone)]
pub struct MintedUser {
    pub public_key: String,
    pub jwt: String,
    pub claims: UserClaims,
    /// The user's key, when the world generated it (not for workload-held keys).
    pub key: Option<SigningKey>,
    /// The creds file written for it (mode 0600), when the key is known.
    pub creds_path: Option<PathBuf>,
}

pub use warden_core::nats::claims_update::{
    ClaimUpdateError, ClaimUpdateReply, ClaimUpdateStatus, ServerRef, push_account_jwt,
};

/// The generated world. Keys live in memory only.
pub struct OperatorWorld {
    pub dir: PathBuf,
    pub operator: SigningKey,
    pub operator_signing: SigningKey,
    pub sys: SigningKey,
    pub app: SigningKey,
    pub app_signing: SigningKey,
    pub operator_claims: OperatorClaims,
    pub operator_jwt: String,
    pub sys_claims: AccountClaims,
    pub sys_jwt: String,
    pub app_claims: AccountClaims,
    pub app_jwt: String,
    pub operator_jwt_path: PathBuf,
    /// Creds of a `SYS` user, for system-account requests.
    pub sys_creds_path: PathBuf,
    config_body: String,
}

impl std::fmt::Debug for OperatorWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorWorld")
            .field("dir", &self.dir)
            .field("operator", &self.operator)
            .field("sys", &self.sys)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

fn conf_str(p: &Path) -> String {
    // NATS config strings take JSON-style escapes.
    serde_json::to_string(&p.display().to_string()).unwrap_or_else(|_| "\"\"".to_string())
}

fn file_name_for(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with('.') { format!("u{s}") } else { s }
}

impl OperatorWorld {
    /// Creates the keys and JWTs, writes `<dir>/operator.jwt`,
    /// `<dir>/creds/sys.creds` and prepares the server config body.
    pub fn generate(dir: &Path) -> Result<OperatorWorld> {
        std::fs::create_dir_all(dir.join("creds"))?;
        std::fs::create_dir_all(dir.join("jwt"))?;
        let now = jwt::unix_now();

        let operator = SigningKey::generate(KeyKind::Operator);
        let operator_signing = SigningKey::generate(KeyKind::Operator);
        let sys = SigningKey::generate(KeyKind::Account);
        let app = SigningKey::generate(KeyKind::Account);
        let app_signing = SigningKey::generate(KeyKind::Account);

        let mut operator_claims = OperatorClaims::about(operator.public_key(), "warden-sandbox");
        operator_claims.nats.signing_keys.push(operator_signing.public_key().to_string());
        operator_claims.nats.system_account = sys.public_key().to_string();
        let operator_jwt = jwt::encode_at(&mut operator_claims, &operator, now)?;

        let mut sys_claims = AccountClaims::new_account(sys.public_key(), "SYS");
        let sys_jwt = jwt::encode_at(&mut sys_claims, &operator_signing, now)?;

        let mut app_claims = AccountClaims::new_account(app.public_key(), "APP");
        app_claims.nats.limits.jetstream = JetStreamLimits::unlimited();
        app_claims.nats.signing_keys.push(AccountSigningKey::Key(app_signing.public_key().to_string()));
        let app_jwt = jwt::encode_at(&mut app_claims, &operator_signing, now)?;

        let operator_jwt_path = dir.join("operator.jwt");
        std::fs::write(&operator_jwt_path, &operator_jwt)?;

        // The system user, signed by the SYS account key itself.
        let sys_user = SigningKey::generate(KeyKind::User);
        let mut sys_user_claims = UserClaims::new_user(sys_user.public_key(), "sys");
        let sys_user_jwt = jwt::encode_user(&mut sys_user_claims, &sys, sys.public_key(), now)?;
        let sys_creds_path = dir.join("creds").join("sys.creds");
        jwt::write_creds_file(&sys_creds_path, &jwt::render_creds(&sys_user_jwt, &sys_user)?)?;

        let config_body = format!(
            "operator: {op}\n\
             system_account: {sys}\n\
             resolver {{\n  type: full\n  dir: {jwtdir}\n  allow_delete: false\n  interval: \"2m\"\n}}\n\
             resolver_preload {{\n  {sys}: \"{sys_jwt}\"\n  {app}: \"{app_jwt}\"\n}}\n\
             jetstream {{\n  store_dir: {js}\n}}\n",
            op = conf_str(&operator_jwt_path),
            sys = sys.public_key(),
            app = app.public_key(),
            jwtdir = conf_str(&dir.join("jwt")),
            js = conf_str(&dir.join("js")),
        );

        Ok(OperatorWorld {
            dir: dir.to_path_buf(),
            operator,
            operator_signing,
            sys,
            app,
            app_signing,
            operator_claims,
            operator_jwt,
            sys_claims,
            sys_jwt,
            app_claims,
            app_jwt,
            operator_jwt_path,
            sys_creds_path,
            config_body,
        })
    }

    /// The nats-server config body (for [`super::nats_server::NatsServer::start`]).
    pub fn config_body(&self) -> &str {
        &self.config_body
    }

    /// The config body with the JetStream store and resolver directories
    /// under `server_dir`: servers of one cluster must each have their own.
    pub fn config_body_in(&self, server_dir: &Path) -> String {
        self.config_body
            .replace(&conf_str(&self.dir.join("js")), &conf_str(&server_dir.join("js")))
            .replace(&conf_str(&self.dir.join("jwt")), &conf_str(&server_dir.join("jwt")))
    }

    /// [`Self::config_body_in`] without JetStream: a server alone in its
    /// cluster behind gateways refuses to start it ("JetStream cluster
    /// requires configured routes or solicited leafnode for the system
    /// account", nats-server `server/jetstream_cluster.go`).
    pub fn config_body_in_without_jetstream(&self, server_dir: &Path) -> String {
        let body = self.config_body_in(server_dir);
        let block = format!("jetstream {{\n  store_dir: {}\n}}\n", conf_str(&server_dir.join("js")));
        body.replace(&block, "")
    }

    /// A config body trusting the operator with a MEMORY resolver that
    /// preloads SYS and `app_jwt` (some JWT of APP): servers of one cluster
    /// can so hold different JWTs of one account. A memory resolver takes
    /// updates on `$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE` for loaded accounts
    /// (`server/events.go` `accountClaimUpdate`) and answers no CLAIMS.LIST.
    pub fn memory_resolver_body(&self, app_jwt: &str) -> String {
        format!(
            "operator: {op}\nsystem_account: {sys}\nresolver: MEMORY\n\
             resolver_preload {{\n  {sys}: \"{sys_jwt}\"\n  {app}: \"{app_jwt}\"\n}}\n",
            op = conf_str(&self.operator_jwt_path),
            sys = self.sys.public_key(),
            sys_jwt = self.sys_jwt,
            app = self.app.public_key(),
        )
    }

    /// A user JWT for `user_public` in `APP`, signed by APP's signing key
    /// with `issuer_account` = APP, issued now.
    pub fn mint_user_jwt(&self, spec: &UserSpec, user_public: &str) -> Result<(UserClaims, String)> {
        jwt::check_public(user_public, KeyKind::User)?;
        let mut c = spec.claims(user_public);
        let token = jwt::encode_user(&mut c, &self.app_signing, self.app.public_key(), jwt::unix_now())?;
        Ok((c, token))
    }

    /// Mints a user JWT for a workload-held key: only its public key is known.
    pub fn mint_for_public_key(&self, spec: &UserSpec, user_public: &str) -> Result<MintedUser> {
        let (claims, token) = self.mint_user_jwt(spec, user_public)?;
        Ok(MintedUser { public_key: user_public.to_string(), jwt: token, claims, key: None, creds_path: None })
    }

    /// Mints a user for `key` (e.g. a renewal of an existing user) and writes
    /// its creds to `<dir>/creds/<name>.creds` (mode 0600).
    pub fn mint_user_with_key(&self, spec: &UserSpec, key: &SigningKey) -> Result<MintedUser> {
        let (claims, token) = self.mint_user_jwt(spec, key.public_key())?;
        let creds_path = self.dir.join("creds").join(format!("{}.creds", file_name_for(&spec.name)));
        jwt::write_creds_file(&creds_path, &jwt::render_creds(&token, key)?)?;
        Ok(MintedUser {
            public_key: key.public_key().to_string(),
            jwt: token,
            claims,
            key: Some(key.clone()),
            creds_path: Some(creds_path),
        })
    }

    /// Mints a user with a fresh key and writes its creds.
    pub fn mint_user(&self, spec: &UserSpec) -> Result<MintedUser> {
        self.mint_user_with_key(spec, &SigningKey::generate(KeyKind::User))
    }

    /// Adds a revocation of `user_public` at `at` (unix seconds) to APP and
    /// re-signs APP with the operator signing key. Returns the new APP JWT
    /// (to push with [`push_account_jwt`]).
    pub fn revoke_user(&mut self, user_public: &str, at: i64) -> Result<String> {
        jwt::check_public(user_public, KeyKind::User)?;
        self.app_claims.nats.revoke(user_public, at);
        self.resign_app()
    }

    /// Re-signs APP's current claims with the operator signing key, issued
    /// strictly after the current APP JWT (see [`jwt::encode_reissue`]).
    pub fn resign_app(&mut self) -> Result<String> {
        let token = jwt::encode_reissue(&mut self.app_claims, &self.operator_signing, jwt::unix_now())?;
        self.app_jwt = token.clone();
        Ok(token)
    }
}

impl OperatorWorld {
    /// Changes APP before the server starts: re-signs it and preloads the
    /// new JWT instead of the old one.
    pub fn edit_app(&mut self, f: impl FnOnce(&mut AccountClaims)) -> Result<()> {
        let old = self.app_jwt.clone();
        f(&mut self.app_claims);
        let new = self.resign_app()?;
        self.config_body = self.config_body.replace(&old, &new);
        Ok(())
    }

    /// Adds a scoped signing key (jwt v2 `UserScope`: `kind` "user_scope",
    /// `key`, `role`, `template`) to APP, before the server starts.
    pub fn add_scoped_signing_key(&mut self, role: &str, template: serde_json::Value) -> Result<SigningKey> {
        let key = SigningKey::generate(KeyKind::Account);
        let scope =
            serde_json::json!({"kind": "user_scope", "key": key.public_key(), "role": role, "template": template});
        let serde_json::Value::Object(m) = scope else { unreachable!("a JSON object literal") };
        self.edit_app(|c| c.nats.signing_keys.push(AccountSigningKey::Scoped(m)))?;
        Ok(key)
    }

    /// Mints a user the way a scoped key must (no permissions or limits:
    /// Go's `SetScoped(true)`), with `tags`, signed by `scoped`.
    pub fn mint_scoped_user(&self, name: &str, tags: &[&str], scoped: &SigningKey) -> Result<MintedUser> {
        let key = SigningKey::generate(KeyKind::User);
        let mut c = UserClaims::about(key.public_key(), name);
        c.nats.tags = tags.iter().map(|t| t.to_string()).collect();
        let token = jwt::encode_user(&mut c, scoped, self.app.public_key(), jwt::unix_now())?;
        let creds_path = self.dir.join("creds").join(format!("{}.creds", file_name_for(name)));
        jwt::write_creds_file(&creds_path, &jwt::render_creds(&token, &key)?)?;
        Ok(MintedUser {
            public_key: key.public_key().to_string(),
            jwt: token,
            claims: c,
            key: Some(key),
            creds_path: Some(creds_path),
        })
    }

    /// Adds an account `name` (no signing keys, no JetStream) whose JWT
    /// expires at `expires` (unix seconds), signed by the operator signing
    /// key and preloaded, before the server starts. nats-server only warns
    /// about a preloaded account that fails validation (an expired one
    /// included: `server/server.go` `checkResolvePreloads`), so a world can
    /// hold an expired account.
    pub fn add_account(&mut self, name: &str, expires: Option<i64>) -> Result<SigningKey> {
        let key = SigningKey::generate(KeyKind::Account);
        let mut claims = AccountClaims::new_account(key.public_key(), name);
        claims.std.expires = expires.unwrap_or(0);
        let token = jwt::encode_at(&mut claims, &self.operator_signing, jwt::unix_now())?;
        let app_line = format!("  {}: \"{}\"\n", self.app.public_key(), self.app_jwt);
        anyhow::ensure!(self.config_body.contains(&app_line), "the config body has no APP preload line");
        self.config_body =
            self.config_body.replace(&app_line, &format!("{app_line}  {}: \"{token}\"\n", key.public_key()));
        Ok(key)
    }

    /// A user of `account` (an account [`Self::add_account`] made), signed
    /// by the account key itself: its JWT and key.
    pub fn mint_user_in(&self, account: &SigningKey, spec: &UserSpec) -> Result<(String, SigningKey)> {
        let key = SigningKey::generate(KeyKind::User);
        let mut c = spec.claims(key.public_key());
        let token = jwt::encode_user(&mut c, account, account.public_key(), jwt::unix_now())?;
        Ok((token, key))
    }

    /// A user of the system account `SYS` (signed by the SYS key itself,
    /// like warden's own): a JWT and its key.
    pub fn mint_sys_user(&self, name: &str) -> Result<(String, SigningKey)> {
        let key = SigningKey::generate(KeyKind::User);
        let mut c = UserClaims::new_user(key.public_key(), name);
        let token = jwt::encode_user(&mut c, &self.sys, self.sys.public_key(), jwt::unix_now())?;
        Ok((token, key))
    }

    /// Re-issues the operator JWT with `expires` (unix seconds; None: never)
    /// and rewrites `operator.jwt`: a server started (or restarted) after
    /// this trusts the new one.
    pub fn set_operator_expiry(&mut self, expires: Option<i64>) -> Result<()> {
        self.operator_claims.std.expires = expires.unwrap_or(0);
        let now = jwt::unix_now().max(self.operator_claims.std.issued_at + 1);
        self.operator_jwt = jwt::encode_at(&mut self.operator_claims, &self.operator, now)?;
        std::fs::write(&self.operator_jwt_path, &self.operator_jwt)?;
        Ok(())
    }

    /// Mints an APP user from ready claims (any permissions, `resp`, none),
    /// signed by APP's plain signing key.
    pub fn mint_user_claims(&self, mut c: UserClaims, key: &SigningKey) -> Result<MintedUser> {
        let token = jwt::encode_user(&mut c, &self.app_signing, self.app.public_key(), jwt::unix_now())?;
        let creds_path = self.dir.join("creds").join(format!("{}.creds", file_name_for(&c.std.name)));
        jwt::write_creds_file(&creds_path, &jwt::render_creds(&token, key)?)?;
        Ok(MintedUser {
            public_key: key.public_key().to_string(),
            jwt: token,
            claims: c,
            key: Some(key.clone()),
            creds_path: Some(creds_path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_config_and_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = OperatorWorld::generate(dir.path()).expect("generate");
        let body = w.config_body();
        for want in [
            format!("system_account: {}", w.sys.public_key()),
            "type: full".to_string(),
            "allow_delete: false".to_string(),
            "interval: \"2m\"".to_string(),
            format!("{}: \"{}\"", w.app.public_key(), w.app_jwt),
            format!("{}: \"{}\"", w.sys.public_key(), w.sys_jwt),
            "store_dir:".to_string(),
        ] {
            assert!(body.contains(&want), "missing {want:?} in\n{body}");
        }
        let bare = w.config_body_in_without_jetstream(&dir.path().join("n3"));
        assert!(!bare.contains("jetstream") && bare.contains("resolver_preload"), "{bare}");
        let own = w.config_body_in(&dir.path().join("n2"));
        for sub in ["js", "jwt"] {
            assert!(own.contains(&conf_str(&dir.path().join("n2").join(sub))), "{sub} not moved in\n{own}");
            assert!(!own.contains(&conf_str(&dir.path().join(sub))), "{sub} still shared in\n{own}");
        }
        let op = jwt::verify_operator(&w.operator_jwt, &[w.operator.public_key()], jwt::unix_now()).expect("operator");
        assert_eq!(op.nats.system_account, w.sys.public_key());
        let app = jwt::verify_account(&w.app_jwt, &op, jwt::unix_now()).expect("app");
        assert!(app.nats.limits.jetstream_enabled());
        assert!(app.nats.has_signing_key(w.app_signing.public_key()));
        let sys = jwt::verify_account(&w.sys_jwt, &op, jwt::unix_now()).expect("sys");
        assert!(!sys.nats.limits.jetstream_enabled());
        let creds = std::fs::read_to_string(&w.sys_creds_path).expect("sys creds");
        let parsed = jwt::parse_creds(&creds).expect("parse");
        jwt::verify_user(&parsed.jwt, &sys, jwt::unix_now()).expect("sys user");
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&w.sys_creds_path).expect("meta").permissions().mode();
            assert_eq!(m & 0o777, 0o600);
        }
        // Nothing secret in Debug: no nkey seed (58 base32 characters
        // starting with `S`, nkeys' seed encoding) appears in it.
        let shown = format!("{w:?}");
        let seed_like = |t: &&str| {
            t.len() == 58
                && t.starts_with('S')
                && t.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        };
        let words: Vec<&str> = shown.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        assert!(!words.iter().any(seed_like), "a seed in {shown}");
        assert!(words.iter().any(|t| t.len() == 56 && t.starts_with('O')), "public keys are shown: {shown}");
        // Users: names become safe file names; workload keys need a user key.
        let u = w.mint_user(&UserSpec { name: "../evil/name".into(), ..UserSpec::tentacle("a", "b") }).expect("mint");
        let p = u.creds_path.expect("path");
        assert_eq!(p.parent(), Some(dir.path().join("creds").as_path()));
        assert!(w.mint_for_public_key(&UserSpec::default(), "nope").is_err());
    }
}
