//! Subject permissions of an identity, where each rule comes from, and the
//! decision nats-server makes for a subject (nats-server `server/client.go`
//! `pubAllowedFullCheck`, `canSubscribeInternal`, `processInboundClientMsg`):
//!
//! * a publish is first mapped by the account's subject mappings
//!   (`server/parser.go`), and the *mapped* subject is checked;
//! * `_GR_.` and (outside the system account) `$NRG.` are always refused
//!   ([`crate::nats::reserved`]);
//! * with no allow rule in a direction everything is allowed, except that a
//!   response permission (`resp` / `allow_responses`) with no publish allow
//!   list leaves only replies publishable (`server/auth.go`
//!   `validateResponsePermissions`);
//! * with allow rules a subject must match one; a matching deny rule always
//!   wins.
//!
//! Which rules a JWT user gets (its own, its scoped key's template, the
//! account defaults) is [`super::effective`].

use serde::Serialize;

use crate::nats::mapping::{self, Mapping, Outcome};
use crate::nats::reserved::{self, Stage};
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
    /// The template of the scoped signing key that issued the user JWT.
    ScopeTemplate,
    /// The account's `default_permissions` (the user JWT has none).
    AccountDefault,
    /// A response permission with no publish allow list: only replies.
    ResponsePermission,
}

impl Source {
    pub fn label(&self) -> &'static str {
        match self {
            Source::UserJwt => "user JWT",
            Source::AuthzConfigMap => "authz ConfigMap",
            Source::Grant => "grant",
            Source::NoAllowList => "no allow list",
            Source::ScopeTemplate => "scope template",
            Source::AccountDefault => "account default",
            Source::ResponsePermission => "response perm.",
        }
    }
}

/// The subject shown for "only replies to received requests".
pub const REPLIES_ONLY: &str = "(replies only)";

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

    /// Whether the rule decides `subj` (a subscribe rule with a queue group,
    /// `"subject queue"`, decides only subscriptions in that group).
    fn matches(&self, subj: &str) -> bool {
        let mut parts = self.subject.split_whitespace();
        let pattern = parts.next().unwrap_or("");
        if self.dir == Direction::Subscribe && parts.next().is_some() {
            return false;
        }
        subject::matches(pattern, subj)
    }
}

/// A response permission: replies to received requests may be published
/// (`max` messages within `ttl`; the server's defaults for 0 are 1 and 2m).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseAllowance {
    pub max_msgs: i64,
    pub ttl_nanos: i64,
    pub source: Source,
}

impl ResponseAllowance {
    /// `server/const.go` `DEFAULT_ALLOW_RESPONSE_MAX_MSGS` / `_EXPIRATION`.
    pub fn with_defaults(max_msgs: i64, ttl_nanos: i64, source: Source) -> Self {
        ResponseAllowance {
            max_msgs: if max_msgs == 0 { 1 } else { max_msgs },
            ttl_nanos: if ttl_nanos == 0 { 120_000_000_000 } else { ttl_nanos },
            source,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} repl{} within {}s",
            self.max_msgs,
            if self.max_msgs == 1 { "y" } else { "ies" },
            self.ttl_nanos / 1_000_000_000
        )
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
    /// `resp` / `allow_responses`.
    pub response: Option<ResponseAllowance>,
    /// The account's subject mappings (applied before the publish check).
    pub mappings: Vec<Mapping>,
    /// The user is in the system account (`$NRG.` is not reserved there).
    pub system_account: bool,
    /// Where the rules come from, in words (scoped key, account defaults).
    pub notes: Vec<String>,
    /// The server refuses this user at connect, and why.
    pub refused: Option<String>,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// `Decision::rule` decided.
    Rule,
    NoAllowList,
    NoAllowMatch,
    /// A response permission without a publish allow list.
    RepliesOnly,
    /// A subject the server always refuses.
    Reserved(String),
    /// The mapping's destination uses a transform not evaluated here.
    MappingNotEvaluated,
    /// A weighted mapping: some destinations allowed, some denied.
    Weighted,
    /// The server refuses the user at connect.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub rule: Option<Rule>,
    pub reason: Reason,
    /// A publish mapped first: how, and what was checked.
    pub mapping: Option<String>,
}

impl Decision {
    fn by(allowed: bool, rule: Option<Rule>, reason: Reason) -> Decision {
        Decision { allowed, rule, reason, mapping: None }
    }

    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// The decision without its mapping prefix.
    fn core(&self) -> String {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        match (&self.reason, &self.rule) {
            (Reason::Rule, Some(r)) => format!("{verdict} by {} ({})", r.subject, r.source.label()),
            (Reason::Rule, None) => verdict.to_string(),
            (Reason::NoAllowList, _) => "allowed (no allow list)".into(),
            (Reason::NoAllowMatch, _) => "denied (no allow rule matches)".into(),
            (Reason::RepliesOnly, r) => format!(
                "denied: only replies may be published ({})",
                r.as_ref().map(|r| r.source.label()).unwrap_or("response permission")
            ),
            (Reason::Reserved(why), _) => format!("denied: {why}"),
            (Reason::MappingNotEvaluated, _) => "unknown: mapping transform not evaluated".into(),
            (Reason::Weighted, _) => "denied for some publishes".into(),
            (Reason::Refused(why), _) => format!("refused at connect: {why}"),
        }
    }

    pub fn explain(&self) -> String {
        match &self.mapping {
            Some(m) => format!("{m}: {}", self.core()),
            None => self.core(),
        }
    }
}

impl PermissionSet {
    pub fn rules(&self, dir: Direction) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.dir == dir)
    }

    /// What nats-server decides for a client publishing to or subscribing
    /// on `subj` (a publish with no reply subject; subscriptions without a
    /// queue group).
    pub fn decide(&self, dir: Direction, subj: &str) -> Decision {
        if let Some(why) = &self.refused {
            return Decision::by(false, None, Reason::Refused(why.clone()));
        }
        if dir == Direction::Subscribe {
            return self.check(dir, subj);
        }
        let Outcome::Mapped { mapping, subjects, ambiguous } = mapping::select(&self.mappings, subj) else {
            return self.check_publish(subj);
        };
        let how = if ambiguous { "first of several matching mappings" } else { "mapping" };
        let decided: Vec<(String, Decision)> = subjects
            .iter()
            .map(|(d, s)| {
                let weight = if d.weight == 100 { String::new() } else { format!(" {}%", d.weight) };
                let cluster = if d.cluster.is_empty() { String::new() } else { format!(" in cluster {}", d.cluster) };
                let label = format!("{}{weight}{cluster}", s.as_deref().unwrap_or(&d.subject));
                let dec = match s {
                    Some(s) => self.check_publish(s),
                    None => Decision::by(false, None, Reason::MappingNotEvaluated),
                };
                (label, dec)
            })
            .collect();
        if let [(label, only)] = decided.as_slice() {
            let mut d = only.clone();
            d.mapping = Some(format!("mapped to {label} by {how} {}", mapping.source));
            return d;
        }
        let all = decided.iter().all(|(_, d)| d.allowed);
        let same = decided.iter().all(|(_, d)| d.allowed == decided[0].1.allowed);
        let parts: Vec<String> = decided.iter().map(|(l, d)| format!("{l} {}", d.core())).collect();
        let first = decided[0].1.clone();
        Decision {
            allowed: all,
            rule: first.rule.clone(),
            reason: if same { first.reason } else { Reason::Weighted },
            mapping: Some(format!("mapped by {how} {} to {}", mapping.source, parts.join("; "))),
        }
    }

    /// A publish to `subj` once mapped.
    fn check_publish(&self, subj: &str) -> Decision {
        let reserved = reserved::publish(subj, self.system_account);
        if let Some(r) = &reserved
            && r.stage == Stage::BeforePermissions
        {
            return Decision::by(false, None, Reason::Reserved(format!("{} ({})", r.why, r.prefix)));
        }
        let d = self.check(Direction::Publish, subj);
        match reserved {
            Some(r) if d.allowed => Decision::by(false, None, Reason::Reserved(format!("{} ({})", r.why, r.prefix))),
            _ => d,
        }
    }

    /// The permission check alone: deny over allow.
    fn check(&self, dir: Direction, subj: &str) -> Decision {
        if let Some(d) = self.rules(dir).find(|r| !r.allow && r.matches(subj)) {
            return Decision::by(false, Some(d.clone()), Reason::Rule);
        }
        let mut allows = self.rules(dir).filter(|r| r.allow).peekable();
        if allows.peek().is_none() {
            if dir == Direction::Publish
                && let Some(resp) = &self.response
            {
                let rule = Rule { dir, allow: true, subject: REPLIES_ONLY.into(), source: resp.source.clone() };
                return Decision::by(false, Some(rule), Reason::RepliesOnly);
            }
            return Decision::by(true, None, Reason::NoAllowList);
        }
        match allows.find(|r| r.matches(subj)) {
            Some(a) => Decision::by(true, Some(a.clone()), Reason::Rule),
            None => Decision::by(false, None, Reason::NoAllowMatch),
        }
    }

    /// The rules, plus for each direction without allow rules what the
    /// server does instead: `allow >` (flagged), or for publish with a
    /// response permission, replies only.
    pub fn effective_rules(&self) -> Vec<Rule> {
        let mut out = self.rules.clone();
        for dir in [Direction::Publish, Direction::Subscribe] {
            if !self.rules(dir).any(|r| r.allow) {
                let (subject, source) = match (&self.response, dir) {
                    (Some(_), Direction::Publish) => (REPLIES_ONLY, Source::ResponsePermission),
                    _ => (">", Source::NoAllowList),
                };
                out.push(Rule { dir, allow: true, subject: subject.into(), source });
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
    fn deny_beats_allow_and_reserved_subjects_are_refused() {
        let mut p = PermissionSet::default();
        p.push(Direction::Publish, true, &[">".into()], Source::UserJwt);
        p.push(Direction::Publish, false, &["a.b".into()], Source::UserJwt);
        assert_eq!(p.decide(Direction::Publish, "a.b").explain(), "denied by a.b (user JWT)");
        assert!(p.decide(Direction::Publish, "a.c").allowed());
        // client.go: `_GR_.` before the permission check, `$NRG.` after it.
        let d = p.decide(Direction::Publish, "_GR_.x.y.z");
        assert!(!d.allowed() && d.explain().contains("_GR_."), "{}", d.explain());
        assert!(!p.decide(Direction::Publish, "$NRG.AE.x").allowed());
        p.system_account = true;
        assert!(p.decide(Direction::Publish, "$NRG.AE.x").allowed());
        // A deny rule still names itself first.
        p.push(Direction::Publish, false, &["$NRG.>".into()], Source::Grant);
        assert_eq!(p.decide(Direction::Publish, "$NRG.AE.x").explain(), "denied by $NRG.> (grant)");
    }

    #[test]
    fn queue_group_rules_do_not_decide_plain_subscriptions() {
        let mut p = PermissionSet::default();
        p.push(Direction::Subscribe, true, &["jobs.> workers".into(), "own.>".into()], Source::UserJwt);
        p.push(Direction::Subscribe, false, &["own.secret other".into()], Source::UserJwt);
        assert!(!p.decide(Direction::Subscribe, "jobs.1").allowed());
        assert!(p.decide(Direction::Subscribe, "own.secret").allowed());
    }

    #[test]
    fn publishes_are_checked_after_mapping() {
        let mappings = crate::nats::mapping::from_account_extra(
            serde_json::json!({"mappings": {
                "in.*": [{"subject": "mine.$1"}],
                "split": [{"subject": "mine.a", "weight": 50}, {"subject": "theirs.a", "weight": 50}],
                "fn.*": [{"subject": "mine.{{partition(2,1)}}"}]
            }})
            .as_object()
            .unwrap(),
        );
        let mut p = PermissionSet { mappings, ..Default::default() };
        p.push(Direction::Publish, true, &["mine.>".into()], Source::UserJwt);
        // The raw subject is not allowed, its mapped subject is.
        let d = p.decide(Direction::Publish, "in.x");
        assert_eq!(d.explain(), "mapped to mine.x by mapping in.*: allowed by mine.> (user JWT)");
        // Subscriptions are not mapped.
        let mut q = p.clone();
        q.push(Direction::Subscribe, true, &["mine.>".into()], Source::UserJwt);
        assert!(!q.decide(Direction::Subscribe, "in.x").allowed());
        let d = p.decide(Direction::Publish, "split");
        assert_eq!(d.reason, Reason::Weighted);
        assert!(d.explain().contains("mine.a 50% allowed") && d.explain().contains("theirs.a 50% denied"));
        let d = p.decide(Direction::Publish, "fn.x");
        assert_eq!(d.reason, Reason::MappingNotEvaluated);
        assert!(!d.allowed());
    }

    #[test]
    fn a_response_permission_without_publish_allow_shows_as_replies_only() {
        let p = PermissionSet {
            response: Some(ResponseAllowance::with_defaults(0, 0, Source::UserJwt)),
            ..Default::default()
        };
        let rules = p.effective_rules();
        let pubs: Vec<_> = rules.iter().filter(|r| r.dir == Direction::Publish).collect();
        assert_eq!(
            (pubs[0].subject.as_str(), &pubs[0].source, pubs[0].over_broad()),
            (REPLIES_ONLY, &Source::ResponsePermission, false)
        );
        assert!(!p.decide(Direction::Publish, "anything").allowed());
    }

    proptest::proptest! {
        #[test]
        fn deny_always_wins(subj in "[a-c]{1,2}(\\.[a-c]{1,2}){0,3}", deny in "[a-c*>]{1,2}(\\.[a-c*>]{1,2}){0,2}") {
            let mut p = PermissionSet::default();
            p.push(Direction::Subscribe, true, &[">".into(), subj.clone()], Source::UserJwt);
            p.push(Direction::Subscribe, false, std::slice::from_ref(&deny), Source::Grant);
            let d = p.decide(Direction::Subscribe, &subj);
            proptest::prop_assert_eq!(d.allowed(), !subject::matches(&deny, &subj));
        }
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
