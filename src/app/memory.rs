//! The process's memory as the system counts it (resident pages), not only
//! as Rust counts it (live heap).
//!
//! At 10,000 connections warden holds about 15 MiB of live heap, but glibc's
//! defaults kept four times that resident (issue 13): one arena per thread
//! that ever allocated (up to eight per core), a dynamic mmap threshold that
//! climbs to 32 MiB after the first large buffer is freed (so every later
//! multi-megabyte CONNZ reply or log batch lands in an arena and stays), and
//! freed arena pages returned only from the top of the main heap. The
//! settings below (glibc `malloc/malloc.c`, `mallopt(3)`) bound all three;
//! the trimmer hands back what fragmentation still holds after a burst.

use std::time::Duration;

/// Allocations at least this big are mmapped and unmapped on free, always
/// (fixing the threshold also stops glibc from raising it).
const MMAP_THRESHOLD: i32 = 256 * 1024;
/// Free memory at the top of a heap beyond this goes back at once.
const TRIM_THRESHOLD: i32 = 1024 * 1024;
/// Arenas shared by all threads: the runtime's workers, the blocking pool,
/// the input thread. Two keep contention low on the few threads warden has.
const ARENA_MAX: i32 = 2;
/// How often the trimmer hands freed pages back.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Sets the allocator's limits; call first thing in `main` (before other
/// threads allocate). Does nothing off glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tunables; called before the
    // process starts other threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Hands free pages of every arena back to the system (glibc's
/// `malloc_trim`: also the holes inside a heap, not only its top).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A task that calls [`release_freed`] every [`TRIM_EVERY`] on the blocking
/// pool (never on the console loop); stops when the handle is aborted.
pub fn spawn_trimmer() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut t = tokio::time::interval(TRIM_EVERY);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t.tick().await;
        loop {
            t.tick().await;
            if tokio::task::spawn_blocking(release_freed).await.is_err() {
                return;
            }
        }
    })
}
