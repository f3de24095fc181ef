//! Injected faults: the next N requests matching a verb and a resource fail
//! the way a real cluster fails under load or in a partition (a 5xx Status,
//! a 409 storm, a request that is never answered, a watch stream cut in the
//! middle of an event), then the double answers normally again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a matching request gets instead of its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// An error `Status` with this code: 500 InternalError, 503
    /// ServiceUnavailable, 504 Timeout, 429 TooManyRequests (the reasons
    /// k8s.io/apimachinery's `errors.go` gives each code).
    Status(u16),
    /// 409 Conflict on the named object, as an update racing another
    /// writer gets ("the object has been modified").
    Conflict,
    /// The request is read and never answered (the connection stays open
    /// until the double stops): what a client sees from a partitioned or
    /// overloaded server. Only the client's own deadline ends it.
    Hang,
    /// A watch: the stream sends the first half of its next event, then
    /// ends, as when a proxy drops the connection in the middle of an object.
    Cut,
    /// The request waits until the gate opens, then is answered normally:
    /// a test holds an action at this step to do something in the middle
    /// of it (kill a server, send a signal).
    Hold(Gate),
}

/// Opened once by a test; every request held on it then proceeds.
#[derive(Debug, Clone)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    pub fn new() -> Gate {
        Gate(Arc::new(tokio::sync::watch::channel(false).0))
    }

    pub fn open(&self) {
        self.0.send_replace(true);
    }

    pub(crate) async fn opened(&self) {
        let _ = self.0.subscribe().wait_for(|o| *o).await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

/// A rule: `times` requests of `verb` (`get`, `list`, `watch`, `create`,
/// `update`, `patch`, `delete`; `*` for any) on `resource` (`secrets`,
/// `natsidentities/status`, `pods/exec`...; `*` for any), optionally only
/// for one object name, get `effect`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub verb: String,
    pub resource: String,
    pub name: Option<String>,
    pub times: usize,
    pub effect: Effect,
}

impl Fault {
    /// The next request of `verb` on `resource` gets `effect`.
    pub fn next(verb: &str, resource: &str, effect: Effect) -> Fault {
        Fault { verb: verb.into(), resource: resource.into(), name: None, times: 1, effect }
    }

    /// The next `n` matching requests (not one).
    pub fn times(mut self, n: usize) -> Fault {
        self.times = n;
        self
    }

    /// Only requests naming this object.
    pub fn named(mut self, name: &str) -> Fault {
        self.name = Some(name.into());
        self
    }

    fn matches(&self, verb: &str, resource: &str, name: &str) -> bool {
        (self.verb == "*" || self.verb == verb)
            && (self.resource == "*" || self.resource == resource)
            && self.name.as_deref().is_none_or(|n| n == name)
    }
}

/// How many times an injected fault has fired so far (a test asserts the
/// fault really happened, so it cannot pass without it).
#[derive(Debug, Clone, Default)]
pub struct FaultHits(Arc<AtomicUsize>);

impl FaultHits {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
pub(crate) struct Faults {
    rules: Vec<(Fault, FaultHits)>,
}

impl Faults {
    pub fn add(&mut self, f: Fault) -> FaultHits {
        let hits = FaultHits::default();
        self.rules.push((f, hits.clone()));
        hits
    }

    /// The effect for this request, if a rule with fires left matches (the
    /// oldest first); counts the firing.
    pub fn take(&mut self, verb: &str, resource: &str, name: &str) -> Option<Effect> {
        let (rule, hits) = self.rules.iter_mut().find(|(f, h)| h.get() < f.times && f.matches(verb, resource, name))?;
        hits.0.fetch_add(1, Ordering::SeqCst);
        Some(rule.effect.clone())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fires_its_number_of_times_on_matching_requests_only() {
        let mut f = Faults::default();
        let hits = f.add(Fault::next("patch", "secrets", Effect::Status(500)).times(2).named("a"));
        assert_eq!(f.take("patch", "secrets", "b"), None);
        assert_eq!(f.take("get", "secrets", "a"), None);
        assert_eq!(f.take("patch", "secrets", "a"), Some(Effect::Status(500)));
        assert_eq!(f.take("patch", "secrets", "a"), Some(Effect::Status(500)));
        assert_eq!(f.take("patch", "secrets", "a"), None);
        assert_eq!(hits.get(), 2);
        let any = f.add(Fault::next("*", "*", Effect::Hang));
        assert_eq!(f.take("watch", "pods", ""), Some(Effect::Hang));
        assert_eq!(any.get(), 1);
    }
}
