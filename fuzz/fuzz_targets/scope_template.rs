//! Scoped signing keys of an account JWT and the permissions the server
//! gives a user they issue (`identity::scope_template`,
//! `identity::effective`). Input: a subject on the first line, then
//! `{"account": <account JWT payload>, "user": <user JWT payload>}`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use warden_core::identity::{effective, scope_template};
use warden_core::nats::jwt::{AccountClaims, UserClaims};
use warden_core::nats::subject::Direction;

#[derive(Deserialize)]
struct Input {
    account: AccountClaims,
    user: UserClaims,
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (subj, json) = text.split_once('\n').unwrap_or(("orders.new", &text));
    let Ok(Input { account, user }) = serde_json::from_str::<Input>(json) else { return };
    let inputs = scope_template::TemplateInputs::of(&user, &account);
    for key in account.nats.signing_key_ids() {
        if let Some(scope) = scope_template::scope_of(&account, key) {
            let _ = (scope.label(), scope.summary());
            if let Ok(p) = scope_template::expand(&scope.template, &inputs) {
                // Never more subjects than the server's expansion cap.
                for list in [&p.publish.allow, &p.subscribe.allow] {
                    assert!(list.len() <= scope_template::MAX_EXPANSIONS, "{}", list.len());
                }
            }
        }
    }
    let _ = scope_template::user_is_empty(&user.nats);
    for system in [false, true] {
        let set = effective::of_user(&user, Some(&account), system);
        if let Some(r) = &set.response {
            let _ = r.describe();
        }
        for dir in [Direction::Publish, Direction::Subscribe] {
            let d = set.decide(dir, subj);
            let _ = (d.allowed(), d.explain());
        }
        let _ = set.effective_rules();
    }
    let _ = effective::of_user(&user, None, false);
});
