//! `[[sites]]` as the console uses them: the SITE column of the NATS views
//! (a server's NATS cluster names its site) and `:site NAME` (the site's
//! Kubernetes context for the Kubernetes views).

use super::text::Text;
use warden_core::config::file::SiteSection;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: Text,
    /// VARZ `cluster.name` of its servers.
    pub cluster: String,
    pub kube_context: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sites(Vec<Site>);

impl Sites {
    pub fn new(sections: &[SiteSection]) -> Sites {
        Sites(
            sections
                .iter()
                .map(|s| Site {
                    name: Text::from(s.name.as_str()),
                    cluster: s.cluster().to_string(),
                    kube_context: s.kube_context.clone(),
                })
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The site whose servers are in `cluster`.
    pub fn of_cluster(&self, cluster: &str) -> Option<&Text> {
        (!cluster.is_empty()).then(|| self.0.iter().find(|s| s.cluster == cluster)).flatten().map(|s| &s.name)
    }

    pub fn get(&self, name: &str) -> Option<&Site> {
        self.0.iter().find(|s| s.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_belongs_to_the_site_of_its_cluster_name_or_of_none() {
        let sites = Sites::new(&[
            SiteSection { name: "east".into(), kube_context: Some("k-east".into()), ..Default::default() },
            SiteSection { name: "west".into(), nats_cluster: Some("nats-w".into()), ..Default::default() },
        ]);
        assert_eq!(sites.of_cluster("east").map(Text::as_str), Some("east"));
        assert_eq!(sites.of_cluster("nats-w").map(Text::as_str), Some("west"));
        assert_eq!(sites.of_cluster("west"), None, "west's servers are in nats-w");
        assert_eq!(sites.of_cluster(""), None, "a server in no cluster is in no site");
        assert_eq!(sites.get("east").and_then(|s| s.kube_context.as_deref()), Some("k-east"));
    }

    /// Through `update`: servers take the site of their cluster, their
    /// connections the site of their server, `/` finds them by it, and
    /// `:site` switches to the site's Kubernetes context as `:ctx` does.
    #[test]
    fn rows_carry_their_site_and_site_switches_the_kubernetes_context() {
        use crate::app::conns::ConnRow;
        use crate::app::msg::{Cmd, Msg};
        use crate::app::servers::ServerRow;
        use crate::app::state::AppState;
        use crate::app::table::Clock;
        use crate::app::update::update;
        use warden_core::nats::types::{ConnInfo, ServerInfo, Varz};
        let at = Clock { now_unix: 1000 };
        let mut s = AppState::new("nats://x".into(), "t".into(), at);
        s.sites = Sites::new(&[
            SiteSection { name: "east".into(), kube_context: Some("k-east".into()), ..Default::default() },
            SiteSection { name: "west".into(), kube_context: Some("k-west".into()), ..Default::default() },
        ]);
        s.kube_contexts = vec!["k-east".into(), "k-west".into()];
        // Connections first: their sites follow once the servers are known.
        let conns = (1..=3).map(|cid| {
            let server = if cid == 3 { "W" } else { "E" };
            ConnRow::new(server, server, ConnInfo { cid, ..Default::default() })
        });
        update(&mut s, Msg::Conns { at, result: Ok((conns.collect(), vec![])) });
        let server = |id: &str, cluster: &str| {
            let info = ServerInfo { id: id.into(), name: id.into(), cluster: cluster.into(), ..Default::default() };
            ServerRow::from_varz(&info, &Varz::default())
        };
        let rows = vec![server("E", "east"), server("W", "west"), server("X", "elsewhere")];
        update(&mut s, Msg::Servers { at, result: Ok(rows) });
        let sites: Vec<&str> = s.servers.rows.iter().map(|r| r.site.as_str()).collect();
        assert_eq!(sites, ["east", "west", ""]);
        let sites: Vec<&str> = s.conns.rows.iter().map(|r| r.site.as_deref().unwrap_or_default()).collect();
        assert_eq!(sites, ["east", "east", "west"]);
        s.conns.set_filter("west".into());
        assert_eq!(s.conns.table.visible.len(), 1);

        let run = |s: &mut AppState, line: &str| {
            s.mode = crate::app::state::Mode::Command(tui_input::Input::new(line.into()));
            let enter = ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter);
            update(s, Msg::Key(enter)).cmds
        };
        let cmds = run(&mut s, "site west");
        assert!(matches!(cmds.as_slice(), [Cmd::SwitchContext(c)] if c == "k-west"), "{cmds:?}");
        assert!(run(&mut s, "site north").is_empty(), "an unknown site switches nothing");
    }
}
