//! Kubernetes errors in words an operator acts on: which verb on which
//! resource RBAC refused, what is missing, that a watch restarts.

use kube::runtime::watcher;

/// The API answered 409 Conflict (a stale `resourceVersion`).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// The API answered 404 Not Found.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// "forbidden: list clusterspiffeids.spire.spiffe.io" style summaries.
pub fn describe(err: &kube::Error, verb: &str, resource: &str) -> String {
    match err {
        kube::Error::Api(s) => match s.code {
            403 => format!("forbidden: {verb} {resource} ({})", s.message),
            404 => format!("not found: {resource} (is the CRD installed?)"),
            409 => format!("conflict on {resource}: {}", s.message),
            410 => format!("{resource}: watch expired (410), relisting"),
            c if c >= 500 => format!("API server error {c} on {verb} {resource}: {}", s.message),
            c => format!("{verb} {resource}: {} ({c})", s.message),
        },
        other => format!("{verb} {resource}: {other}"),
    }
}

pub fn describe_watch(err: &watcher::Error, resource: &str) -> String {
    match err {
        watcher::Error::InitialListFailed(e) => describe(e, "list", resource),
        watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => describe(e, "watch", resource),
        watcher::Error::WatchError(s) if s.code == 410 => {
            format!("{resource}: watch expired (410), relisting")
        }
        watcher::Error::WatchError(s) if s.code == 403 => {
            format!("forbidden: watch {resource} ({})", s.message)
        }
        watcher::Error::WatchError(s) => format!("watch {resource}: {} ({})", s.message, s.code),
        watcher::Error::NoResourceVersion => {
            format!("{resource}: no resourceVersion in watch result")
        }
    }
}
