//! The console's real terminal backend (crossterm) writing into a sink that
//! counts the bytes a terminal would receive. Each flush (one per drawn
//! frame) is timed, with the Connections title's row count read from a
//! shadow of the screen.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};

/// Counts what is written.
pub struct Sink(pub Arc<AtomicU64>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One drawn frame: when, and the row count in the Connections title.
pub struct Frame {
    pub at: Instant,
    pub conns: Option<usize>,
}

pub type Frames = Arc<Mutex<Vec<Frame>>>;

pub struct Screen {
    inner: CrosstermBackend<Sink>,
    shadow: Buffer,
    frames: Frames,
}

impl Screen {
    pub fn new(width: u16, height: u16, bytes: Arc<AtomicU64>, frames: Frames) -> Screen {
        Screen {
            inner: CrosstermBackend::new(Sink(bytes)),
            shadow: Buffer::empty(Rect::new(0, 0, width, height)),
            frames,
        }
    }
}

impl Backend for Screen {
    type Error = io::Error;
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(&mut self, content: I) -> io::Result<()> {
        let cells: Vec<(u16, u16, &Cell)> = content.collect();
        for (x, y, c) in &cells {
            self.shadow[(*x, *y)] = (*c).clone();
        }
        self.inner.draw(cells.into_iter())
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }
    /// A real terminal would be asked (and answer on stdin): not here.
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(Position::ORIGIN)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> io::Result<()> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.shadow.reset();
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> io::Result<()> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> io::Result<Size> {
        Ok(self.shadow.area.as_size())
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize { columns_rows: self.shadow.area.as_size(), pixels: Size::default() })
    }
    fn flush(&mut self) -> io::Result<()> {
        let at = Instant::now();
        Backend::flush(&mut self.inner)?;
        let mut top = String::new();
        for y in 0..self.shadow.area.height.min(6) {
            for x in 0..self.shadow.area.width {
                top.push_str(self.shadow[(x, y)].symbol());
            }
        }
        let conns = top
            .split_once("Connections [")
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
        self.frames.lock().unwrap().push(Frame { at, conns });
        Ok(())
    }
}
