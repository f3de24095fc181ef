use super::*;
use crate::identity::naming::{IdentityName, Naming};
use crate::nats::subject::Direction;

const A: &str = "spiffe://td/ns/a/wf/x";
const B: &str = "spiffe://td/ns/b/wf/y";

fn sample() -> AuthzDocument {
    let nm = Naming::with_defaults("td").unwrap();
    let mut d = AuthzDocument::new(DocumentShape::AuthorizationBlock);
    for n in ["b/y", "a/x"] {
        let id = IdentityName::parse(n).unwrap();
        d.upsert_scope(&nm.spiffe_id(&id), &nm.scope(&id)).unwrap();
    }
    d
}

#[test]
fn renders_canonical_block() {
    let mut d = sample();
    assert!(d.grant(A, Direction::Publish, "tentacular.b.y.in").unwrap());
    let text = d.render();
    insta::assert_snapshot!(text);
    let back = AuthzDocument::parse(&text).unwrap();
    assert_eq!(back, d);
    assert_eq!(back.render(), text);
}

#[test]
fn users_array_shape_round_trips() {
    let mut d = sample();
    d.shape = DocumentShape::UsersArray;
    let text = d.render();
    assert!(text.contains("\nusers: [\n"), "{text}");
    assert!(!text.contains("authorization {"));
    assert_eq!(AuthzDocument::parse(&text).unwrap(), d);
}

#[test]
fn parses_what_a_human_writes() {
    let text = r#"
// hand written
authorization {
  timeout = 2
  users = [
    {user = "spiffe://td/ns/b/wf/y", permissions = {publish = "tentacular.b.y.>", subscribe = ["tentacular.b.y.>", '_INBOX.>']}}
    { username: 'spiffe://td/ns/a/wf/x'   # the x tentacle
      permissions: {
        pub: { allow: [tentacular.a.x.>, "tentacular.b.y.in" # warden:grant
        ], deny: "tentacular.a.x.secret" }
        sub { allow: tentacular.a.x.> }
        allow_responses: true
      }
      account: APP
    }
  ]
}
"#;
    let d = AuthzDocument::parse(text).unwrap();
    assert_eq!(d.shape, DocumentShape::AuthorizationBlock);
    assert_eq!(d.len(), 2);
    let a = d.get(A).unwrap();
    assert_eq!(a.publish_allow, vec!["tentacular.a.x.>"]);
    assert_eq!(a.publish_deny, vec!["tentacular.a.x.secret"]);
    assert_eq!(a.subscribe_allow, vec!["tentacular.a.x.>"]);
    assert_eq!(a.grants, vec![Grant { direction: Direction::Publish, subject: "tentacular.b.y.in".into() }]);
    assert_eq!(a.permissions_extra.len(), 1);
    assert_eq!(a.extra.len(), 1);
    let b = d.get(B).unwrap();
    assert_eq!(b.subscribe_allow, vec!["tentacular.b.y.>", "_INBOX.>"]);
    assert_eq!(d.extra.len(), 1);
    // Canonical rendering is stable.
    let r = d.render();
    let again = AuthzDocument::parse(&r).unwrap();
    assert_eq!(again, d);
    assert_eq!(again.render(), r);
}

#[test]
fn operations_are_idempotent() {
    let mut d = sample();
    let nm = Naming::with_defaults("td").unwrap();
    let id = IdentityName::parse("a/x").unwrap();
    assert!(!d.upsert_scope(A, &nm.scope(&id)).unwrap());
    assert!(d.grant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
    assert!(!d.grant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
    // Already in scope: nothing to add.
    assert!(!d.grant(A, Direction::Publish, "tentacular.a.x.>").unwrap());
    // Re-applying the scope keeps grants.
    assert!(!d.upsert_scope(A, &nm.scope(&id)).unwrap());
    assert_eq!(d.get(A).unwrap().grants.len(), 1);
    assert!(d.ungrant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
    assert!(!d.ungrant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
    // Ungrant never removes scope.
    assert!(!d.ungrant(A, Direction::Publish, "tentacular.a.x.>").unwrap());
    assert!(d.remove(A));
    assert!(!d.remove(A));
    assert!(matches!(d.grant(A, Direction::Publish, "x"), Err(AuthzError::UnknownUser(_))));
    assert!(matches!(d.grant(B, Direction::Publish, "a.>.b"), Err(AuthzError::Subject(_))));
    assert!(matches!(d.grant(B, Direction::Publish, "a b"), Err(AuthzError::Subject(_))));
}

#[test]
fn empty_and_refused_documents() {
    let d = AuthzDocument::parse("# nothing\n").unwrap();
    assert!(d.is_empty());
    assert_eq!(d.shape, DocumentShape::UsersArray);
    let e = AuthzDocument::parse("authorization {}").unwrap();
    assert_eq!(e.shape, DocumentShape::AuthorizationBlock);
    for bad in [
        "users = {}",
        "users = [ \"x\" ]",
        "users = [ { permissions: {} } ]",
        "users = [ {user: a}, {user: a} ]",
        "users = [ {user: a, permissions: { publish: { allow: [ {} ] } } } ]",
        "users = [ {user: a, permissions: { publish: { maybe: x } } } ]",
        "users = [ {user: a, permissions: { publish: $VAR } } ]",
        "authorization { user: a, password: b }",
        "authorization {}\nfoo = 1",
        "users = []\nusers = []",
    ] {
        assert!(AuthzDocument::parse(bad).is_err(), "{bad:?} accepted");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn subject() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z0-9_$-]{1,8}|\\*|[\"\\\\#é/]{1,3}", 1..4).prop_map(|t| t.join("."))
    }

    fn entry() -> impl Strategy<Value = AuthzEntry> {
        (
            "spiffe://[a-z.]{1,10}/ns/[a-z]{1,5}/wf/[a-z\"\\\\ #]{1,5}",
            prop::collection::vec(subject(), 0..3),
            prop::collection::vec(subject(), 0..2),
            prop::collection::vec(subject(), 0..3),
            prop::collection::vec(subject(), 0..2),
            prop::collection::vec((any::<bool>(), subject()), 0..3),
        )
            .prop_map(|(user, pa, pd, sa, sd, g)| AuthzEntry {
                user,
                publish_allow: pa,
                publish_deny: pd,
                subscribe_allow: sa,
                subscribe_deny: sd,
                grants: g
                    .into_iter()
                    .map(|(p, subject)| Grant {
                        direction: if p { Direction::Publish } else { Direction::Subscribe },
                        subject,
                    })
                    .collect(),
                ..Default::default()
            })
    }

    proptest! {
        #[test]
        fn render_parse_render_is_stable(
            block in any::<bool>(),
            entries in prop::collection::vec(entry(), 0..5),
        ) {
            let mut d = AuthzDocument::new(if block {
                DocumentShape::AuthorizationBlock
            } else {
                DocumentShape::UsersArray
            });
            for e in entries {
                d.upsert(e).unwrap();
            }
            let r = d.render();
            let back = AuthzDocument::parse(&r).unwrap();
            prop_assert_eq!(back.render(), r);
        }

        #[test]
        fn parse_never_panics(s in "(?s).{0,300}") {
            let _ = AuthzDocument::parse(&s);
        }

        /// Mutations of a real rendering (the fuzz target's property, cheaply):
        /// never a panic, and whatever parses renders to a fixed point.
        #[test]
        fn mutated_documents_never_panic(
            entries in prop::collection::vec(entry(), 1..3),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, "[\\[\\]{}\"'#/:=,;\n a$]{0,2}"), 1..6),
        ) {
            let mut d = AuthzDocument::new(DocumentShape::AuthorizationBlock);
            for e in entries {
                d.upsert(e).unwrap();
            }
            let mut text: Vec<char> = d.render().chars().collect();
            for (at, op, ins) in edits {
                if text.is_empty() {
                    break;
                }
                let i = at.index(text.len());
                match op {
                    0 => { text.remove(i); }
                    1 => { for (k, c) in ins.chars().enumerate() { text.insert(i + k, c); } }
                    _ => { text.truncate(i); }
                }
            }
            let text: String = text.into_iter().collect();
            if let Ok(doc) = AuthzDocument::parse(&text) {
                let r = doc.render();
                let back = AuthzDocument::parse(&r).unwrap();
                prop_assert_eq!(back.render(), r);
            }
        }
    }
}
