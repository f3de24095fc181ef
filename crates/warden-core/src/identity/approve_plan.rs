//! What approving a Pending `NatsIdentity` will mint or write, computed from
//! its spec (written by the tenant: untrusted) before anything is signed:
//! user, key, account, TTL, publish and subscribe lists and grants, each
//! marked when it lies outside the identity's own naming scope or is
//! over-broad (`nats::subject::over_broad_reason`). The console shows it in
//! the approve confirmation; both modes' approve refuse an out-of-scope plan
//! unless the operator consented (`--allow-broad`, the second confirmation).

use std::time::Duration;

use super::naming::{IdentityName, Naming};
use super::record::IdentitySpec;
use super::ttl::{TtlPolicy, format_go};
use crate::nats::jwt::{self, KeyKind};
use crate::nats::subject::{self, Direction};

/// How one requested subject relates to the identity's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Inside its own `[naming]` subject scope.
    Own,
    /// Outside it (another tentacle's subjects, a literal elsewhere).
    OutOfScope,
    /// Over-broad, with why.
    OverBroad(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    pub dir: Direction,
    pub subject: String,
    pub mark: Mark,
    /// From `spec.grants` (rather than the publish/subscribe lists).
    pub grant: bool,
}

/// The plan of one approve.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovePlan {
    pub name: IdentityName,
    pub user: String,
    /// `spec.user` names another user than the naming template's.
    pub user_out_of_scope: bool,
    pub key: String,
    /// Why `spec.publicKey` cannot be used (JWT mode).
    pub key_problem: Option<String>,
    pub account: String,
    /// JWT mode: the lifetime, or why `spec.ttl` is refused.
    pub ttl: Option<Result<Duration, String>>,
    pub subjects: Vec<Marked>,
}

/// Untrusted text as data: quoted and escaped when it is not plain
/// printable ASCII.
pub fn shown(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_graphic()) && !s.is_empty() { s.to_string() } else { format!("{s:?}") }
}

impl ApprovePlan {
    /// The plan for `name` from its spec; `ttl` is `None` in SPIFFE mode
    /// (no JWT), else the policy and the request's TTL.
    pub fn of(
        naming: &Naming,
        name: &IdentityName,
        spec: &IdentitySpec,
        ttl: Option<(&TtlPolicy, Option<Duration>)>,
    ) -> ApprovePlan {
        let scope = naming.scope(name);
        let own_user = naming.nats_user(name);
        let user = if spec.user.is_empty() { own_user.clone() } else { spec.user.clone() };
        let key_problem = match jwt::check_public(&spec.public_key, KeyKind::User) {
            Ok(()) => None,
            Err(e) => Some(format!("spec.publicKey {}: {e}", shown(&spec.public_key))),
        };
        let mut subjects = Vec::new();
        let mut bad_dirs = Vec::new();
        let mut add = |dir: Direction, s: &str, grant: bool| {
            let reach = naming.reach(name, dir, &[]);
            let mark = if reach.is_own(s) {
                Mark::Own
            } else if let Err(e) = subject::validate_grant(s) {
                let _ = e;
                Mark::OverBroad("is not a valid subject")
            } else {
                match subject::over_broad_reason(s, &reach) {
                    Some(why) => Mark::OverBroad(why),
                    None => Mark::OutOfScope,
                }
            };
            subjects.push(Marked { dir, subject: s.to_string(), mark, grant });
        };
        let publish = if spec.publish.is_empty() { &scope.publish_allow } else { &spec.publish };
        let subscribe = if spec.subscribe.is_empty() { &scope.subscribe_allow } else { &spec.subscribe };
        for s in publish {
            add(Direction::Publish, s, false);
        }
        for s in subscribe {
            add(Direction::Subscribe, s, false);
        }
        for g in &spec.grants {
            match Direction::parse(&g.direction) {
                Ok(d) => add(d, &g.subject, true),
                Err(_) => bad_dirs.push(Marked {
                    dir: Direction::Subscribe,
                    subject: format!("{} (direction {})", g.subject, shown(&g.direction)),
                    mark: Mark::OverBroad("is not a valid subject"),
                    grant: true,
                }),
            }
        }
        subjects.extend(bad_dirs);
        ApprovePlan {
            name: name.clone(),
            user_out_of_scope: user != own_user,
            user,
            key: spec.public_key.clone(),
            key_problem,
            account: spec.account.clone(),
            ttl: ttl.map(|(p, req)| p.resolve(req, &spec.ttl).map_err(|e| format!("{e:#}"))),
            subjects,
        }
    }

    /// Anything outside the identity's own scope (or over-broad): needs
    /// `--allow-broad` / the console's second confirmation.
    pub fn needs_allow_broad(&self) -> bool {
        self.user_out_of_scope || self.subjects.iter().any(|m| m.mark != Mark::Own)
    }

    /// A problem no consent fixes: a bad key, a TTL out of bounds, an
    /// invalid subject.
    pub fn blocker(&self) -> Option<String> {
        if let Some(p) = &self.key_problem {
            return Some(p.clone());
        }
        if let Some(Err(e)) = &self.ttl {
            return Some(e.clone());
        }
        self.subjects
            .iter()
            .find(|m| m.mark == Mark::OverBroad("is not a valid subject"))
            .map(|m| format!("{} {} is not a valid subject", m.dir.word(), shown(&m.subject)))
    }

    /// The subjects that need consent, in words (one line each).
    pub fn flagged(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if self.user_out_of_scope {
            v.push(format!("user {} is not {}'s own user", shown(&self.user), self.name));
        }
        for m in &self.subjects {
            match m.mark {
                Mark::Own => {}
                Mark::OutOfScope => {
                    v.push(format!("{} {}: outside {}'s scope", m.dir.word(), shown(&m.subject), self.name))
                }
                Mark::OverBroad(why) => v.push(format!("{} {}: OVER-BROAD, it {why}", m.dir.word(), shown(&m.subject))),
            }
        }
        v
    }

    /// Everything the approve writes, one line per item; flagged items
    /// start with `!!`.
    pub fn lines(&self) -> Vec<String> {
        let flag = |bad: bool| if bad { "!! " } else { "   " };
        let mut v = vec![
            format!("{}user      {}", flag(self.user_out_of_scope), shown(&self.user)),
            format!("{}key       {}", flag(self.key_problem.is_some()), shown(&self.key)),
            format!("   account   {}", shown(&self.account)),
        ];
        match &self.ttl {
            Some(Ok(d)) => v.push(format!("   ttl       {}", format_go(*d))),
            Some(Err(e)) => v.push(format!("!! ttl       {e}")),
            None => {}
        }
        for m in &self.subjects {
            let what = match (m.dir, m.grant) {
                (Direction::Publish, false) => "publish",
                (Direction::Subscribe, false) => "subscribe",
                (Direction::Publish, true) => "grant pub",
                (Direction::Subscribe, true) => "grant sub",
            };
            let note = match m.mark {
                Mark::Own => String::new(),
                Mark::OutOfScope => "  (outside its scope)".into(),
                Mark::OverBroad(why) => format!("  (OVER-BROAD: {why})"),
            };
            v.push(format!("{}{what:<9} {}{note}", flag(m.mark != Mark::Own), shown(&m.subject)));
        }
        v
    }

    /// Why approve refuses without consent, naming every flagged item.
    pub fn refusal(&self) -> String {
        format!(
            "{} asks for more than its own scope: {}; pass --allow-broad (console: confirm twice) to approve it anyway",
            self.name,
            self.flagged().join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::record::GrantEntry;

    #[test]
    fn marks_what_reaches_beyond_the_scope() {
        let naming = Naming::with_defaults("td").unwrap();
        let name = IdentityName::parse("shop/cart").unwrap();
        let key = jwt::SigningKey::generate(KeyKind::User);
        let spec = IdentitySpec { public_key: key.public_key().into(), ttl: "1h".into(), ..Default::default() };
        let p = ApprovePlan::of(&naming, &name, &spec, Some((&TtlPolicy::default(), None)));
        assert!(!p.needs_allow_broad() && p.blocker().is_none(), "{:?}", p.lines());
        let spec = IdentitySpec {
            public_key: key.public_key().into(),
            publish: vec![">".into(), "tentacular.shop.cart.>".into()],
            subscribe: vec!["tentacular.payments.*".into()],
            grants: vec![GrantEntry { direction: "publish".into(), subject: "tentacular.shop.orders.in".into() }],
            user: "tentacle.shop.orders".into(),
            ..Default::default()
        };
        let p = ApprovePlan::of(&naming, &name, &spec, Some((&TtlPolicy::default(), None)));
        assert!(p.needs_allow_broad());
        let lines = p.lines().join("\n");
        assert!(lines.contains("!! publish   >  (OVER-BROAD"), "{lines}");
        assert!(lines.contains("   publish   tentacular.shop.cart.>\n"), "{lines}");
        assert!(lines.contains("!! subscribe"), "{lines}");
        assert!(lines.contains("!! grant pub tentacular.shop.orders.in  (outside its scope)"), "{lines}");
        assert!(lines.contains("!! user      tentacle.shop.orders"), "{lines}");
        assert!(p.refusal().contains("--allow-broad"));
        // A non-ASCII key is reported, escaped.
        let spec = IdentitySpec { public_key: "Uéééééééééééééé".into(), ..Default::default() };
        let p = ApprovePlan::of(&naming, &name, &spec, Some((&TtlPolicy::default(), None)));
        assert!(p.blocker().unwrap().contains("spec.publicKey \"U"), "{:?}", p.blocker());
        let spec = IdentitySpec { public_key: key.public_key().into(), ttl: "0s".into(), ..Default::default() };
        let p = ApprovePlan::of(&naming, &name, &spec, Some((&TtlPolicy::default(), None)));
        assert!(p.blocker().unwrap().contains("outside the allowed range"));
    }
}
