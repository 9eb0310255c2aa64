//! A progress line on stderr while a file loads or a program compiles.
//!
//! Reading a 1.3 GB Bristol file or compiling a program of millions of AND
//! gates takes tens of seconds; without a sign of life that looks like a
//! hang. But most loads take milliseconds, and a bar flashed for those is
//! noise, so the line appears only once the work has taken [`DELAY`], and
//! only when stderr is a terminal (scripts and pipes never see it).
//!
//! The line is owned by a [`Progress`] and cleared when it is dropped, so it
//! is gone before anything else prints — a result, a compile error, the run's
//! own progress bar — on every path, `?` and early returns included. There
//! is one line at a time: a command finishes its load before it starts a run.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long work runs before its progress line appears.
pub(super) const DELAY: Duration = Duration::from_secs(1);

/// A progress line that shows after a delay and clears itself when dropped.
pub(super) struct Progress {
    bar: ProgressBar,
    /// Dropping this tells the waker to stop waiting.
    stop: Option<mpsc::Sender<()>>,
    /// The thread that shows the line once the delay has passed.
    waker: Option<JoinHandle<()>>,
}

impl Progress {
    /// A bar of bytes read, for loading a file of `total` bytes.
    pub(super) fn bytes(message: String, total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {binary_bytes}/{binary_total_bytes}  {eta} left")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(message);
        Progress::start(bar, DELAY, stderr_if_terminal)
    }

    /// A spinner with a message, for work measured in phases.
    pub(super) fn spinner(message: String) -> Progress {
        Progress::spinner_on(message, DELAY, stderr_if_terminal)
    }

    fn spinner_on(message: String, delay: Duration, target: fn() -> Option<ProgressDrawTarget>) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        Progress::start(bar, delay, target)
    }

    /// Starts the waker: after `delay`, `target()` (if any) becomes the
    /// bar's draw target and the bar ticks on its own.
    fn start(bar: ProgressBar, delay: Duration, target: fn() -> Option<ProgressDrawTarget>) -> Progress {
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = bar.clone();
        let waker = std::thread::Builder::new()
            .name("garblet-progress".into())
            .spawn(move || {
                // Only a timeout shows the line: a message or a hang-up
                // means the work is done.
                if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(delay) {
                    if let Some(t) = target() {
                        shown.set_draw_target(t);
                        shown.enable_steady_tick(Duration::from_millis(120));
                    }
                }
            })
            .ok();
        Progress { bar, stop: Some(stop), waker }
    }

    /// Sets the position (bytes read).
    pub(super) fn set_position(&self, position: u64) {
        self.bar.set_position(position);
    }

    /// Sets the message (the phase).
    pub(super) fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Wraps `reader` so that bytes read move the bar.
    pub(super) fn reader<R: Read>(&self, reader: R) -> ProgressReader<'_, R> {
        ProgressReader { inner: reader, progress: self, read: 0 }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(waker) = self.waker.take() {
            // The waker has either shown the line or given up; after this,
            // nothing draws it again.
            let _ = waker.join();
        }
        self.bar.finish_and_clear();
    }
}

fn stderr_if_terminal() -> Option<ProgressDrawTarget> {
    std::io::stderr().is_terminal().then(ProgressDrawTarget::stderr)
}

/// A reader that reports how many bytes went through it.
pub(super) struct ProgressReader<'a, R> {
    inner: R,
    progress: &'a Progress,
    read: u64,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.set_position(self.read);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::sync::{Arc, Mutex};

    /// A terminal that keeps its screen as lines of text, enough to tell
    /// whether anything is left on it.
    #[derive(Clone, Debug, Default)]
    struct Screen(Arc<Mutex<(Vec<String>, usize, usize)>>);

    impl Screen {
        fn with<T>(&self, f: impl FnOnce(&mut Vec<String>, &mut usize) -> T) -> T {
            let mut g = self.0.lock().unwrap();
            let (lines, row, writes) = &mut *g;
            *writes += 1;
            if lines.len() <= *row {
                lines.resize(*row + 1, String::new());
            }
            f(lines, row)
        }
        fn text(&self) -> String {
            self.0.lock().unwrap().0.concat()
        }
        fn writes(&self) -> usize {
            self.0.lock().unwrap().2
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.with(|_, row| *row = row.saturating_sub(n));
            Ok(())
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.with(|_, row| *row += n);
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.with(|lines, row| {
                lines[*row].push_str(s);
                *row += 1;
            });
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.with(|lines, row| lines[*row].push_str(s));
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.with(|lines, row| lines[*row].clear());
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    static SCREEN: Mutex<Option<Screen>> = Mutex::new(None);

    fn screen_target() -> Option<ProgressDrawTarget> {
        let screen = SCREEN.lock().unwrap().clone()?;
        Some(ProgressDrawTarget::term_like(Box::new(screen)))
    }

    fn spinner_on(screen: &Screen, delay: Duration) -> Progress {
        *SCREEN.lock().unwrap() = Some(screen.clone());
        Progress::spinner_on("compiling big.gbl".to_owned(), delay, screen_target)
    }

    // One test, so that the two cases do not race on SCREEN.
    #[test]
    fn the_line_shows_only_after_the_delay_and_never_stays() {
        // Quick work: nothing is ever drawn.
        let quick = Screen::default();
        drop(spinner_on(&quick, Duration::from_secs(60)));
        assert_eq!(quick.writes(), 0, "nothing drawn for quick work");

        // Slow work: the line shows, and is gone once the work is done.
        let slow = Screen::default();
        let progress = spinner_on(&slow, Duration::from_millis(10));
        let started = std::time::Instant::now();
        while !slow.text().contains("compiling big.gbl") {
            assert!(started.elapsed() < Duration::from_secs(10), "the line never showed");
            std::thread::sleep(Duration::from_millis(10));
        }
        progress.set_message("compiling big.gbl: optimising".to_owned());
        drop(progress);
        assert_eq!(slow.text(), "", "the screen is clear after the work");
    }

    #[test]
    fn the_reader_counts_bytes() {
        let progress = Progress::bytes("reading".to_owned(), 10);
        let mut out = Vec::new();
        progress.reader(&b"0123456789"[..]).read_to_end(&mut out).unwrap();
        assert_eq!(progress.bar.position(), 10);
        assert_eq!(out, b"0123456789");
    }
}
