//! An error and its causes in one line, each said once: libraries often
//! repeat their source in their own message (`IO error: Connection refused
//! (os error 111)` caused by `Connection refused (os error 111)`), which
//! `{:#}` would print twice.

/// `outer: cause: root`, skipping a cause whose text is already said.
pub fn chain(e: &anyhow::Error) -> String {
    join(e.chain().map(|c| c.to_string()))
}

/// The same for any error type with sources.
pub fn chain_std(e: &(dyn std::error::Error + 'static)) -> String {
    join(std::iter::successors(Some(e), |e| e.source()).map(|c| c.to_string()))
}

fn join(parts: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() || out.contains(p) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "IO error: {}", self.0)
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_said_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        let e = anyhow::Error::new(Wrapper(io)).context("connecting to nats://127.0.0.1:1");
        assert_eq!(format!("{e:#}").matches("Connection refused").count(), 2, "what {{:#}} does");
        let text = chain(&e);
        assert_eq!(text, "connecting to nats://127.0.0.1:1: IO error: Connection refused (os error 111)");
        // Distinct causes are all kept, in order.
        let e = anyhow::anyhow!("root cause").context("middle").context("top");
        assert_eq!(chain(&e), "top: middle: root cause");
    }
}
