//! Subjects nats-server refuses to a client whatever its permissions
//! (nats-server `server/client.go` `processInboundClientMsg`,
//! `isReservedReply`; prefixes from `server/gateway.go` `gwReplyPrefix`,
//! `server/accounts.go` `replyPrefix`, `server/jetstream_api.go` `jsAckPre`).
//!
//! * publishing to `_GR_.…` (gateway-routed replies; the server's comment
//!   calls it "$GNR.", the constant is `_GR_.`) is refused before the
//!   permission check;
//! * publishing to `$NRG.…` (Raft groups) is refused after it, except in the
//!   system account;
//! * a publish whose *reply* is `_R_.…` (service-import replies), `$JS.ACK.…`
//!   or `_GR_.…` is refused ("Publish Violation - Reply").
//!
//! Each prefix must be followed by at least one more byte (the server
//! compares `len(subject) > len(prefix)`).

/// Gateway-routed reply prefix (`gwReplyPrefix`).
pub const GATEWAY_REPLY: &str = "_GR_.";
/// Raft group prefix (`clientNRGPrefix`).
pub const NRG: &str = "$NRG.";
/// Service-import reply prefix (`replyPrefix`).
pub const SERVICE_REPLY: &str = "_R_.";
/// JetStream acknowledgement prefix (`jsAckPre`).
pub const JS_ACK: &str = "$JS.ACK.";

/// When the refusal happens relative to the permission check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Stage {
    BeforePermissions,
    AfterPermissions,
}

/// A subject the server refuses to publish to, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reserved {
    pub prefix: &'static str,
    pub stage: Stage,
    pub why: &'static str,
}

fn longer_prefix(s: &str, prefix: &str) -> bool {
    s.len() > prefix.len() && s.starts_with(prefix)
}

/// Whether a client publish to `subject` (after mappings) is always refused.
pub fn publish(subject: &str, system_account: bool) -> Option<Reserved> {
    if longer_prefix(subject, GATEWAY_REPLY) {
        return Some(Reserved {
            prefix: GATEWAY_REPLY,
            stage: Stage::BeforePermissions,
            why: "gateway-routed reply subjects are reserved",
        });
    }
    // `bytes.HasPrefix`: no length check here.
    if subject.starts_with(NRG) && !system_account {
        return Some(Reserved {
            prefix: NRG,
            stage: Stage::AfterPermissions,
            why: "Raft (NRG) subjects are reserved outside the system account",
        });
    }
    None
}

/// Whether a publish with reply subject `reply` is always refused.
pub fn reply(reply: &str) -> Option<Reserved> {
    let why = "reserved reply subject";
    [SERVICE_REPLY, JS_ACK, GATEWAY_REPLY].into_iter().find(|p| longer_prefix(reply, p)).map(|prefix| Reserved {
        prefix,
        stage: Stage::AfterPermissions,
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_publish_subjects() {
        assert_eq!(publish("_GR_.abc.def.x", false).unwrap().stage, Stage::BeforePermissions);
        assert_eq!(publish("_GR_.abc.def.x", true).unwrap().prefix, GATEWAY_REPLY);
        assert!(publish("_GR_.", false).is_none());
        assert!(publish("$GNR.x", false).is_none());
        assert_eq!(publish("$NRG.AE.x", false).unwrap().stage, Stage::AfterPermissions);
        assert!(publish("$NRG.AE.x", true).is_none());
        // Replies and acks are ordinary publish subjects (they are refused as *replies*).
        assert!(publish("_R_.x", false).is_none());
        assert!(publish("$JS.ACK.s.c.1.1.1.1.0", false).is_none());
        assert!(publish("orders.new", false).is_none());
    }

    #[test]
    fn reserved_replies() {
        assert_eq!(reply("_R_.abc").unwrap().prefix, SERVICE_REPLY);
        assert_eq!(reply("$JS.ACK.s.c.1").unwrap().prefix, JS_ACK);
        assert_eq!(reply("_GR_.x.y.z").unwrap().prefix, GATEWAY_REPLY);
        assert!(reply("$JS.ACK.").is_none());
        assert!(reply("_INBOX.abc").is_none());
    }
}
