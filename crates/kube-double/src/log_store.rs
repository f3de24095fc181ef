//! Per-container log lines, bounded, with the previous container's lines
//! kept across a restart (what `pods/log` serves).

use std::collections::{HashMap, VecDeque};

use super::util;

const MAX_LINES: usize = 10_000;

#[derive(Debug, Default)]
pub struct ContainerLog {
    pub(crate) lines: VecDeque<(i128, String)>,
    /// Lines evicted from the front: line i has sequence number dropped + i.
    pub(crate) dropped: u64,
    pub(crate) previous: Vec<(i128, String)>,
    /// Bumped on restart; ends follow streams of the old container.
    pub(crate) epoch: u64,
}

#[derive(Debug, Default)]
pub struct Logs {
    pub(crate) map: HashMap<(String, String, String), ContainerLog>,
}

impl Logs {
    pub fn append(&mut self, ns: &str, pod: &str, container: &str, line: &str) {
        let log = self.map.entry((ns.into(), pod.into(), container.into())).or_default();
        // One stored entry per line; embedded newlines become several lines.
        for l in line.trim_end_matches('\n').split('\n') {
            log.lines.push_back((util::now_nanos(), l.to_string()));
        }
        while log.lines.len() > MAX_LINES {
            log.lines.pop_front();
            log.dropped += 1;
        }
    }

    pub fn restart(&mut self, ns: &str, pod: &str, containers: &[String]) {
        for c in containers {
            let log = self.map.entry((ns.into(), pod.into(), c.clone())).or_default();
            log.previous = log.lines.drain(..).collect();
            log.dropped = 0;
            log.epoch += 1;
        }
    }
}
