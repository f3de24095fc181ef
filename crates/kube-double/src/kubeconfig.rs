//! A kubeconfig pointing at the double. Strings are written as JSON
//! double-quoted scalars, which YAML reads verbatim.

use std::path::Path;

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The kubeconfig text: cluster (server and CA), user (bearer token) and
/// context with namespace `default`, selected as current-context.
pub fn render(server: &str, ca_pem: &str, context: &str, user: &str, token: &str) -> String {
    let (c, ctx, u) = (q(context), q(context), q(user));
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {c}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         contexts:\n- name: {ctx}\n  context:\n    cluster: {c}\n    user: {u}\n    namespace: default\n\
         current-context: {ctx}\npreferences: {{}}\nusers:\n- name: {u}\n  user:\n    token: {token}\n",
        server = q(server),
        ca = q(&data_encoding::BASE64.encode(ca_pem.as_bytes())),
        token = q(token),
    )
}

pub fn write(path: &Path, server: &str, ca_pem: &str, context: &str, user: &str, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    // It holds a token: owner-only, like kubectl writes it.
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(render(server, ca_pem, context, user, token).as_bytes())
}
