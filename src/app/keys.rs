//! The one keymap: dispatch and the `?` help are both generated from it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::view_id::ViewId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    CommandLine,
    Filter,
    Help,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Detail,
    Refresh,
    NextView,
    PrevView,
    Show(ViewId),
    Tester,
    Register,
    Approve,
    Deny,
    Renew,
    Revoke,
    Grant,
    Ungrant,
    /// Violations: pause / follow the live list.
    Pause,
    /// Violations: live list / grouped.
    Group,
    /// Violations: the selected identity's permissions.
    JumpIdentity,
    /// Scroll the detail pane.
    DetailDown,
    DetailUp,
    /// The raw record of the selected row.
    Describe,
    /// Trace the selected identity's chain across Kubernetes, SPIRE and NATS.
    Trace,
    /// Copy the selected row's key or name to the clipboard.
    Copy,
    /// Connections: close the selected connection (asks first).
    Kick,
    /// Connections: open ones / recently closed ones with their reasons.
    Closed,
    /// Sort by the next column (then none).
    Sort,
    /// Reverse the sort order.
    SortReverse,
    /// Save the current view (as shown) as JSON.
    Save,
}

pub struct Binding {
    /// How the help screen names the keys.
    pub label: &'static str,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: Action,
    pub help: &'static str,
}

const N: KeyModifiers = KeyModifiers::NONE;
const C: KeyModifiers = KeyModifiers::CONTROL;
const S: KeyModifiers = KeyModifiers::SHIFT;

/// Never bind a destructive action to ctrl-d (k9s users press it by habit).
pub const KEYMAP: &[Binding] = &[
    Binding {
        label: ":",
        keys: &[(KeyCode::Char(':'), N)],
        action: Action::CommandLine,
        help: "command line, tab completes",
    },
    Binding {
        label: "/",
        keys: &[(KeyCode::Char('/'), N)],
        action: Action::Filter,
        help: "filter rows: text, re:REGEX; ! first inverts (!re:…)",
    },
    Binding { label: "?", keys: &[(KeyCode::Char('?'), N)], action: Action::Help, help: "this help" },
    Binding {
        label: "esc bksp",
        keys: &[(KeyCode::Esc, N), (KeyCode::Backspace, N)],
        action: Action::Back,
        help: "back: close, return from a jump, clear filter",
    },
    Binding { label: "↑ k", keys: &[(KeyCode::Up, N), (KeyCode::Char('k'), N)], action: Action::Up, help: "up" },
    Binding {
        label: "↓ j", keys: &[(KeyCode::Down, N), (KeyCode::Char('j'), N)], action: Action::Down, help: "down"
    },
    Binding {
        label: "pgup ctrl-b",
        keys: &[(KeyCode::PageUp, N), (KeyCode::Char('b'), C)],
        action: Action::PageUp,
        help: "page up",
    },
    Binding {
        label: "pgdn ctrl-f",
        keys: &[(KeyCode::PageDown, N), (KeyCode::Char('f'), C)],
        action: Action::PageDown,
        help: "page down",
    },
    Binding {
        label: "g home",
        keys: &[(KeyCode::Char('g'), N), (KeyCode::Home, N)],
        action: Action::Top,
        help: "first row",
    },
    Binding {
        label: "G end",
        keys: &[(KeyCode::Char('G'), S), (KeyCode::Char('G'), N), (KeyCode::End, N)],
        action: Action::Bottom,
        help: "last row",
    },
    Binding {
        label: "enter d",
        keys: &[(KeyCode::Enter, N), (KeyCode::Char('d'), N)],
        action: Action::Detail,
        help: "detail of the selected row",
    },
    Binding {
        label: "J ctrl-e",
        keys: &[(KeyCode::Char('J'), S), (KeyCode::Char('e'), C)],
        action: Action::DetailDown,
        help: "scroll the detail down",
    },
    Binding {
        label: "K ctrl-y",
        keys: &[(KeyCode::Char('K'), S), (KeyCode::Char('y'), C)],
        action: Action::DetailUp,
        help: "scroll the detail up",
    },
    Binding {
        label: "r ctrl-r",
        keys: &[(KeyCode::Char('r'), N), (KeyCode::Char('r'), C)],
        action: Action::Refresh,
        help: "refresh now",
    },
    Binding {
        label: "→ l tab",
        keys: &[(KeyCode::Right, N), (KeyCode::Char('l'), N), (KeyCode::Tab, N)],
        action: Action::NextView,
        help: "next view",
    },
    Binding {
        label: "← h",
        keys: &[(KeyCode::Left, N), (KeyCode::Char('h'), N), (KeyCode::BackTab, S)],
        action: Action::PrevView,
        help: "previous view",
    },
    // Digits are matched in `action_for` (view n of the tab line).
    Binding { label: "1…9 0", keys: &[], action: Action::Show(ViewId::Servers), help: "jump to view n (0: 10th)" },
    Binding {
        label: "y",
        keys: &[(KeyCode::Char('y'), N)],
        action: Action::Describe,
        help: "describe: the raw record (YAML/JSON) of the selected row",
    },
    Binding {
        label: "T",
        keys: &[(KeyCode::Char('T'), S)],
        action: Action::Trace,
        help: "trace the selected identity: every link, the first broken one (identities)",
    },
    Binding {
        label: "c",
        keys: &[(KeyCode::Char('c'), N)],
        action: Action::Copy,
        help: "copy the selected row's key or name (OSC 52 clipboard)",
    },
    Binding {
        label: "s",
        keys: &[(KeyCode::Char('s'), N)],
        action: Action::Sort,
        help: "sort by the next column (↑ ascending, then none)",
    },
    Binding {
        label: "S",
        keys: &[(KeyCode::Char('S'), S)],
        action: Action::SortReverse,
        help: "reverse the sort order",
    },
    Binding {
        label: "ctrl-s",
        keys: &[(KeyCode::Char('s'), C)],
        action: Action::Save,
        help: "save the view as shown (filter, sort) as JSON in the state dir",
    },
    Binding {
        label: "t",
        keys: &[(KeyCode::Char('t'), N)],
        action: Action::Tester,
        help: "subject tester (permissions)",
    },
    Binding {
        label: "n",
        keys: &[(KeyCode::Char('n'), N)],
        action: Action::Register,
        help: "register an identity (identities)",
    },
    Binding {
        label: "a",
        keys: &[(KeyCode::Char('a'), N)],
        action: Action::Approve,
        help: "approve a Pending identity (identities)",
    },
    Binding {
        label: "x",
        keys: &[(KeyCode::Char('x'), N)],
        action: Action::Deny,
        help: "deny a Pending identity, asks first (identities)",
    },
    Binding { label: "R", keys: &[(KeyCode::Char('R'), S)], action: Action::Renew, help: "renew the JWT (identities)" },
    Binding {
        label: "X",
        keys: &[(KeyCode::Char('X'), S)],
        action: Action::Revoke,
        help: "revoke, asks first (identities, violations)",
    },
    Binding {
        label: "p",
        keys: &[(KeyCode::Char('p'), N)],
        action: Action::Pause,
        help: "pause / follow the live list (violations)",
    },
    Binding {
        label: "v",
        keys: &[(KeyCode::Char('v'), N)],
        action: Action::Group,
        help: "live list / grouped by identity x subject x kind (violations)",
    },
    Binding {
        label: "i",
        keys: &[(KeyCode::Char('i'), N)],
        action: Action::JumpIdentity,
        help: "permissions of the violation's identity (violations)",
    },
    Binding {
        label: "+",
        keys: &[(KeyCode::Char('+'), N), (KeyCode::Char('+'), S)],
        action: Action::Grant,
        help: "grant a subject (identities); the denied subject (violations)",
    },
    Binding {
        label: "-",
        keys: &[(KeyCode::Char('-'), N)],
        action: Action::Ungrant,
        help: "ungrant a subject, asks first (identities)",
    },
    Binding {
        label: "ctrl-k",
        keys: &[(KeyCode::Char('k'), C)],
        action: Action::Kick,
        help: "kick the selected connection, asks first (connections)",
    },
    Binding {
        label: "C",
        keys: &[(KeyCode::Char('C'), S)],
        action: Action::Closed,
        help: "open / recently closed connections, with close reasons (connections)",
    },
    Binding {
        label: "q ctrl-c",
        keys: &[(KeyCode::Char('q'), N), (KeyCode::Char('c'), C)],
        action: Action::Quit,
        help: "quit",
    },
];

impl Action {
    /// Actions that change something (refused, and not offered, in
    /// read-only mode).
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Action::Register
                | Action::Approve
                | Action::Deny
                | Action::Renew
                | Action::Revoke
                | Action::Grant
                | Action::Ungrant
                | Action::Kick
        )
    }
}

/// The footer's keys for a view, most useful first (the line is cut at the
/// terminal's width): the view's own actions (none that mutate in
/// read-only mode), then the keys every view has.
pub fn footer_keys(view: ViewId, read_only: bool) -> Vec<(&'static str, &'static str)> {
    use Action as A;
    let own: &[(&str, &str, Action)] = match view {
        ViewId::Identities => &[
            ("n", "register", A::Register),
            ("a", "approve", A::Approve),
            ("x", "deny", A::Deny),
            ("R", "renew", A::Renew),
            ("X", "revoke", A::Revoke),
            ("+/-", "grant", A::Grant),
            ("y", "describe", A::Describe),
        ],
        ViewId::Conns => &[
            ("ctrl-k", "kick", A::Kick),
            ("C", "closed", A::Closed),
            ("y", "describe", A::Describe),
            ("c", "copy", A::Copy),
        ],
        ViewId::Violations => &[
            ("p", "pause", A::Pause),
            ("v", "group", A::Group),
            ("i", "identity", A::JumpIdentity),
            ("+", "grant", A::Grant),
            ("X", "revoke", A::Revoke),
            ("y", "describe", A::Describe),
        ],
        ViewId::Permissions => &[("t", "test a subject", A::Tester), ("y", "describe", A::Describe)],
        _ => &[("y", "describe", A::Describe), ("c", "copy", A::Copy)],
    };
    let sort: &[(&str, &str)] = if view == ViewId::Violations { &[] } else { &[("s/S", "sort")] };
    own.iter()
        .filter(|(_, _, a)| !(read_only && a.mutates()))
        .map(|&(k, w, _)| (k, w))
        .chain(sort.iter().copied())
        .chain([("enter", "detail"), ("/", "filter"), ("?", "help"), (":", "command"), ("q", "quit")])
        .collect()
}

/// The action bound to a key in normal mode.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if let KeyCode::Char(c @ '0'..='9') = key.code
        && key.modifiers - KeyModifiers::SHIFT == KeyModifiers::NONE
    {
        let n = if c == '0' { 9 } else { c as usize - '1' as usize };
        return ViewId::ALL.get(n).map(|v| Action::Show(*v));
    }
    // Shift is implied by the character for printable keys; compare without it.
    let mods = if matches!(key.code, KeyCode::Char(_)) { key.modifiers - KeyModifiers::SHIFT } else { key.modifiers };
    KEYMAP.iter().find_map(|b| {
        b.keys.iter().any(|(code, m)| *code == key.code && (*m - KeyModifiers::SHIFT) == mods).then_some(b.action)
    })
}

/// Commands of the `:` line: name, aliases, what it does.
pub const COMMANDS: &[(&str, &[&str], &str)] = &[
    ("servers", &["srv", "server"], "servers of the cluster"),
    ("conns", &["connections", "conn"], "client connections"),
    ("entries", &["spire", "entry"], "SPIRE entries"),
    ("spiffeids", &["clusterspiffeids", "cspiffeid"], "ClusterSPIFFEIDs"),
    ("agents", &["agent"], "SPIRE agents"),
    ("perms", &["permissions", "perm"], "rules of every identity"),
    ("accounts", &["account", "acc"], "NATS accounts (JWT mode)"),
    ("identities", &["identity", "ids", "users"], "identities: users live and recorded"),
    ("expiry", &["expiries", "exp"], "JWTs by time left"),
    ("violations", &["viol", "violation"], "live authorization violations"),
    ("static", &["clusterstaticentries", "cse"], "ClusterStaticEntries"),
    ("doctor", &["doc", "findings"], "findings across NATS, SPIRE and Kubernetes"),
    ("ctx", &["context"], "Kubernetes context: :ctx NAME"),
    ("site", &["sites"], "a site's Kubernetes context: :site NAME ([[sites]])"),
    ("help", &["h"], "key help"),
    ("quit", &["q", "q!", "exit"], "quit warden"),
];

/// Completion of a partial command: the single match, or the longest common
/// prefix of all matches, plus every matching name for the hint line.
pub fn complete(partial: &str) -> (String, Vec<&'static str>) {
    complete_from(partial, COMMANDS.iter().flat_map(|(n, a, _)| std::iter::once(*n).chain(a.iter().copied())))
}

/// The longest common completion of `partial` among `names`, and the matches.
pub fn complete_from<'a>(partial: &str, names: impl Iterator<Item = &'a str>) -> (String, Vec<&'a str>) {
    let matches: Vec<&'a str> = names.filter(|n| n.starts_with(partial)).collect();
    let completed = match matches.as_slice() {
        [] => partial.to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => {
            let mut prefix = first.to_string();
            for m in rest {
                while !m.starts_with(&prefix) {
                    prefix.pop();
                }
            }
            prefix
        }
    };
    (completed, matches)
}

/// Resolves a typed command line (name or alias, then an optional argument).
pub fn command(line: &str) -> Option<(&'static str, &str)> {
    let line = line.trim();
    let (name, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    COMMANDS.iter().find(|(n, a, _)| *n == name || a.contains(&name)).map(|(n, _, _)| (*n, arg.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_and_ctrl_d_does_nothing() {
        let k = |c, m| KeyEvent::new(c, m);
        assert_eq!(action_for(&k(KeyCode::Char('j'), N)), Some(Action::Down));
        assert_eq!(action_for(&k(KeyCode::Char('G'), S)), Some(Action::Bottom));
        assert_eq!(action_for(&k(KeyCode::Char('c'), C)), Some(Action::Quit));
        assert_eq!(action_for(&k(KeyCode::Char('d'), C)), None);
        assert_eq!(action_for(&k(KeyCode::Char('2'), N)), Some(Action::Show(ViewId::Conns)));
        assert_eq!(action_for(&k(KeyCode::Char('9'), N)), Some(Action::Show(ViewId::Expiry)));
        assert_eq!(action_for(&k(KeyCode::Char('0'), N)), Some(Action::Show(ViewId::Violations)));
        assert_eq!(action_for(&k(KeyCode::Char('+'), N)), Some(Action::Grant));
        assert_eq!(action_for(&k(KeyCode::Char('?'), S)), Some(Action::Help));
    }

    #[test]
    fn footer_follows_the_view_and_read_only_hides_what_mutates() {
        let keys = |v, ro| footer_keys(v, ro).into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(ViewId::Identities, false)[..3], ["n", "a", "x"]);
        assert!(keys(ViewId::Conns, false).contains(&"ctrl-k"));
        for v in ViewId::ALL {
            let shown = keys(v, true);
            for k in ["n", "a", "x", "R", "X", "+", "+/-", "ctrl-k"] {
                assert!(!shown.contains(&k), "{v:?}: {k}");
            }
        }
        assert!(!keys(ViewId::Identities, true).contains(&"n"));
        assert!(keys(ViewId::Identities, true).contains(&"y"));
        assert!(keys(ViewId::Violations, false).contains(&"p") && !keys(ViewId::Violations, false).contains(&"s/S"));
    }

    #[test]
    fn completion() {
        assert_eq!(complete("se").0, "server");
        assert_eq!(complete("con").0, "con");
        assert_eq!(complete("conn").0, "conn");
        assert_eq!(complete("q").0, "q");
        assert_eq!(complete("zz").1.len(), 0);
        assert_eq!(command("srv"), Some(("servers", "")));
        assert_eq!(command("connections"), Some(("conns", "")));
        assert_eq!(command(" ctx  kind-prod "), Some(("ctx", "kind-prod")));
        assert_eq!(command("nope"), None);
    }
}
