//! What a second warden needs to reach every site: one kubeconfig with a
//! context per site (each double's CA and bearer token) and the
//! `[[sites]]` tables of its config file.

use std::path::Path;

use anyhow::Result;
use kube_double::KubeDouble;
use warden_core::nats::jwt::write_secret_file;

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Writes the kubeconfig (0600: it holds the tokens); the first site is
/// the current context.
pub fn write_kubeconfig(path: &Path, sites: &[(&str, &KubeDouble)]) -> Result<()> {
    let (mut clusters, mut contexts, mut users) = (String::new(), String::new(), String::new());
    for (name, d) in sites {
        let (c, u) = (q(&format!("cluster-{name}")), q(&format!("warden-{name}")));
        clusters.push_str(&format!(
            "- name: {c}\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n",
            q(&d.url()),
            q(&d.ca_data())
        ));
        contexts.push_str(&format!(
            "- name: {}\n  context:\n    cluster: {c}\n    user: {u}\n    namespace: default\n",
            q(name)
        ));
        users.push_str(&format!("- name: {u}\n  user:\n    token: {}\n", q(d.token())));
    }
    let current = sites.first().map(|(n, _)| q(n)).unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}current-context: {current}\npreferences: {{}}\nusers:\n{users}"
    );
    write_secret_file(path, text.as_bytes())?;
    Ok(())
}

/// One `[[sites]]` table per site: its Kubernetes context and its own
/// server's URL (the system account there sees the whole supercluster).
pub fn sites_tables(sites: &[(&str, String)]) -> String {
    let s = |v: &str| toml::Value::String(v.to_string()).to_string();
    sites
        .iter()
        .map(|(name, url)| {
            format!("\n[[sites]]\nname = {n}\nkube_context = {n}\nnats_url = {u}\n", n = s(name), u = s(url))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_per_site_parsed_back() {
        let text = sites_tables(&[("east", "nats://127.0.0.1:1".into()), ("west", "nats://127.0.0.1:2".into())]);
        let v: toml::Value = toml::from_str(&text).unwrap();
        let sites = v["sites"].as_array().unwrap();
        assert_eq!(sites.len(), 2);
        assert_eq!(sites[1]["name"].as_str(), Some("west"));
        assert_eq!(sites[1]["kube_context"].as_str(), Some("west"));
        assert_eq!(sites[1]["nats_url"].as_str(), Some("nats://127.0.0.1:2"));
    }
}
