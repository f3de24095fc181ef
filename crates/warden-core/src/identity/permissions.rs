//! Subject permissions of an identity, where each rule comes from, and the
//! decision nats-server makes for a subject: with no allow rule in a
//! direction everything is allowed; with allow rules a subject must match one;
//! a matching deny rule always wins.

use serde::Serialize;

use crate::nats::subject::{self, Direction};

/// Where a rule was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Source {
    /// The user JWT's `nats.pub`/`nats.sub`.
    UserJwt,
    /// The scope entry of the SPIFFE-mode authorization ConfigMap.
    AuthzConfigMap,
    /// An explicit cross-tentacle grant.
    Grant,
    /// No allow rule in this direction: nats-server allows every subject.
    NoAllowList,
}

impl Source {
    pub fn label(&self) -> &'static str {
        match self {
            Source::UserJwt => "user JWT",
            Source::AuthzConfigMap => "authz ConfigMap",
            Source::Grant => "grant",
            Source::NoAllowList => "no allow list",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub dir: Direction,
    pub allow: bool,
    pub subject: String,
    pub source: Source,
}

impl Rule {
    pub fn over_broad(&self) -> bool {
        self.allow && subject::is_over_broad(&self.subject, &subject::Reach::unknown())
    }
}

/// One identity's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PermissionSet {
    /// `namespace/workload` when known, else the user.
    pub identity: String,
    /// NATS user name, nkey or SPIFFE ID.
    pub user: String,
    pub account: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// Allowed by this rule, or by the absence of any allow rule.
    Allowed(Option<Rule>),
    /// Denied by this deny rule, or (None) because no allow rule matches.
    Denied(Option<Rule>),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }

    pub fn explain(&self) -> String {
        match self {
            Decision::Allowed(Some(r)) => format!("allowed by {} ({})", r.subject, r.source.label()),
            Decision::Allowed(None) => "allowed (no allow list)".into(),
            Decision::Denied(Some(r)) => format!("denied by {} ({})", r.subject, r.source.label()),
            Decision::Denied(None) => "denied (no allow rule matches)".into(),
        }
    }
}

impl PermissionSet {
    pub fn rules(&self, dir: Direction) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.dir == dir)
    }

    /// What nats-server decides for `subject` in `dir`.
    pub fn decide(&self, dir: Direction, subj: &str) -> Decision {
        if let Some(d) = self.rules(dir).find(|r| !r.allow && subject::matches(&r.subject, subj)) {
            return Decision::Denied(Some(d.clone()));
        }
        let mut allows = self.rules(dir).filter(|r| r.allow).peekable();
        if allows.peek().is_none() {
            return Decision::Allowed(None);
        }
        match allows.find(|r| subject::matches(&r.subject, subj)) {
            Some(a) => Decision::Allowed(Some(a.clone())),
            None => Decision::Denied(None),
        }
    }

    /// The rules, plus an explicit `allow >` for each direction without allow
    /// rules, so "may use every subject" is visible (and flagged) in the view.
    pub fn effective_rules(&self) -> Vec<Rule> {
        let mut out = self.rules.clone();
        for dir in [Direction::Publish, Direction::Subscribe] {
            if !self.rules(dir).any(|r| r.allow) {
                out.push(Rule { dir, allow: true, subject: ">".into(), source: Source::NoAllowList });
            }
        }
        out
    }

    pub fn push(&mut self, dir: Direction, allow: bool, subjects: &[String], source: Source) {
        self.rules.extend(subjects.iter().map(|s| Rule { dir, allow, subject: s.clone(), source: source.clone() }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> PermissionSet {
        let mut p = PermissionSet { identity: "tent-dev/hn".into(), ..Default::default() };
        p.push(Direction::Publish, true, &["tentacular.tent-dev.hn.>".into()], Source::UserJwt);
        p.push(Direction::Publish, true, &["tentacular.tent-dev.other.inbox".into()], Source::Grant);
        p.push(Direction::Publish, false, &["tentacular.tent-dev.hn.secret".into()], Source::UserJwt);
        p.push(Direction::Subscribe, false, &["audit.>".into()], Source::UserJwt);
        p
    }

    #[test]
    fn decisions_follow_nats_rules() {
        let p = set();
        assert!(p.decide(Direction::Publish, "tentacular.tent-dev.hn.events").allowed());
        let g = p.decide(Direction::Publish, "tentacular.tent-dev.other.inbox");
        assert_eq!(g.explain(), "allowed by tentacular.tent-dev.other.inbox (grant)");
        assert_eq!(
            p.decide(Direction::Publish, "tentacular.tent-dev.hn.secret").explain(),
            "denied by tentacular.tent-dev.hn.secret (user JWT)"
        );
        assert_eq!(p.decide(Direction::Publish, "elsewhere").explain(), "denied (no allow rule matches)");
        // No allow list for subscribe: everything but the denied subjects.
        assert_eq!(p.decide(Direction::Subscribe, "anything.at.all").explain(), "allowed (no allow list)");
        assert!(!p.decide(Direction::Subscribe, "audit.login").allowed());
    }

    #[test]
    fn a_direction_without_allow_rules_shows_as_allow_everything() {
        let p = set();
        let implicit: Vec<_> = p.effective_rules().into_iter().filter(|r| r.source == Source::NoAllowList).collect();
        assert_eq!(implicit.len(), 1);
        assert_eq!(
            (implicit[0].dir, implicit[0].subject.as_str(), implicit[0].over_broad()),
            (Direction::Subscribe, ">", true)
        );
    }

    #[test]
    fn over_broad_allow_rules_are_flagged() {
        let mut p = PermissionSet::default();
        p.push(Direction::Publish, true, &[">".into(), "*.x".into(), "a.>".into()], Source::Grant);
        p.push(Direction::Publish, false, &[">".into()], Source::Grant);
        let flagged: Vec<&str> = p.rules.iter().filter(|r| r.over_broad()).map(|r| r.subject.as_str()).collect();
        assert_eq!(flagged, [">", "*.x"]);
    }
}
