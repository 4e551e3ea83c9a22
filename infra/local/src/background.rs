//! The runner's background work (the change feed's consumers and the schedules) on a thread of its
//! own at a lower CPU priority than the request path.
//!
//! On AWS, ai-reply, the export worker and the purge are separate functions with their own
//! compute; in the runner they share the machine with webhook-intake. Meta waits for the webhook's
//! answer and retries a slow one, while a reply or an export can start a moment later: so under a
//! load the request path keeps the processors and the background catches up with the idle time,
//! as a stream consumer that falls behind catches up on its iterator. Nothing is dropped: the
//! feed's position only advances past handled changes, and `/local/health` shows how far behind
//! the feed is.

use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[cfg(target_os = "linux")]
/// The background thread's nice value (0 is normal, 19 the lowest priority): a busy request
/// thread gets about ten times its share of a processor, and an idle one leaves it all.
const NICE: i32 = 19;

/// How long background tasks get to finish once the runner stops them.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Background {
    runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Starts the thread and its runtime; tasks run once `spawn`ed.
    pub fn start() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("mizan-background-blocking")
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mizan-background".into())
            .spawn(move || {
                lower_priority();
                // Drives every spawned task until the runner says stop.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                runtime.shutdown_timeout(STOP_TIMEOUT);
            })?;
        Ok(Background {
            runtime: handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(task)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Lowers this thread's priority (a per-thread attribute on Linux; threads it starts inherit it).
/// Elsewhere, where a nice value belongs to the whole process, it leaves the priority alone.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority only read their integer arguments.
        let outcome = unsafe {
            let thread = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, NICE)
        };
        if outcome != 0 {
            tracing::warn!(
                error = %io::Error::last_os_error(),
                "cannot lower the background thread's priority; it runs at normal priority"
            );
        }
    }
}
