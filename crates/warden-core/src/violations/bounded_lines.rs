//! Lines of a stream (a followed pod log) with a bound on each: a line
//! longer than the bound is cut there, flagged, and the rest of it is read
//! and dropped, so one line of many megabytes (or one that never ends)
//! costs at most the bound. `futures`' `lines()` would buffer it whole.

use futures::{AsyncBufRead, AsyncBufReadExt};

/// The longest line kept from a stream, as for log files
/// ([`super::follow_file::FollowOptions`]).
pub const MAX_LINE: usize = 64 * 1024;

/// The next line of `r` without its `\n` / `\r\n`, at most `max` bytes
/// (bool: it was cut); `None` at the end of the stream.
pub async fn next_line<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> std::io::Result<Option<(String, bool)>> {
    let mut buf = Vec::new();
    let mut cut = false;
    let mut any = false;
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(any.then(|| finish(buf, cut)));
        }
        any = true;
        let nl = avail.iter().position(|&b| b == b'\n');
        let chunk = &avail[..nl.unwrap_or(avail.len())];
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = nl.map_or(avail.len(), |i| i + 1);
        r.consume_unpin(used);
        if nl.is_some() {
            return Ok(Some(finish(buf, cut)));
        }
    }
}

fn finish(mut buf: Vec<u8>, cut: bool) -> (String, bool) {
    if !cut && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    (String::from_utf8_lossy(&buf).into_owned(), cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_the_next_line_is_whole() {
        let text = format!("one\r\n{}\ntwo\nlast", "x".repeat(5 * 1024 * 1024));
        let mut r = futures::io::BufReader::with_capacity(8192, futures::io::Cursor::new(text.into_bytes()));
        assert_eq!(next_line(&mut r, 16).await.unwrap(), Some(("one".into(), false)));
        assert_eq!(next_line(&mut r, 16).await.unwrap(), Some(("x".repeat(16), true)));
        assert_eq!(next_line(&mut r, 16).await.unwrap(), Some(("two".into(), false)));
        assert_eq!(next_line(&mut r, 16).await.unwrap(), Some(("last".into(), false)));
        assert_eq!(next_line(&mut r, 16).await.unwrap(), None);
    }
}
