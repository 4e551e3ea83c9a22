//! The runner's background work (the change feed's consumers and the schedules) on a thread of its
//! own that only uses the processor time the request path leaves.
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
        let (lowered, priority_lowered) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mizan-background".into())
            .spawn(move || {
                lower_priority();
                let _ = lowered.send(());
                // Drives every spawned task until the runner says stop.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                runtime.shutdown_timeout(STOP_TIMEOUT);
            })?;
        // Returns once the thread is in its class, so nothing runs there at normal priority.
        let _ = priority_lowered.recv();
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

/// Moves this thread to Linux's idle scheduling class (threads it starts inherit it): it runs
/// whenever a processor would otherwise idle, and any request thread that wakes takes the processor
/// from it at once, which a nice value alone does not promise. Elsewhere it runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` lives across the call.
        let outcome = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if outcome != 0 {
            tracing::warn!(
                error = %io::Error::last_os_error(),
                "cannot lower the background thread's priority; it runs at normal priority"
            );
        }
    }
}
