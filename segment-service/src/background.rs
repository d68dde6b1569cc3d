//! The server's background loops under one owner. Each loop runs as a
//! supervised task — restarted a second after a panic — and watches one
//! shutdown token; [`Background::shutdown`] cancels it and waits for every
//! loop to finish its step (a worker hands its run back, see
//! `segments::worker`), aborting what is still running after the grace period.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a loop that panicked waits before it starts again.
const RESTART_DELAY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Background {
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
}

impl Background {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the loop `make` returns until it ends (it should end only once
    /// the token is cancelled); a panic is logged and the loop made again.
    pub fn supervise<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            loop {
                let task = tokio::spawn(make(shutdown.clone()));
                // Aborting the supervisor (after the grace period) aborts the loop too.
                let _abort = AbortOnDrop(task.abort_handle());
                match task.await {
                    Ok(()) => return,
                    Err(error) if error.is_panic() => {
                        tracing::error!(task = name, "a background task panicked; starting it again");
                    }
                    Err(_) => return,
                }
                if !pause(&shutdown, RESTART_DELAY).await {
                    return;
                }
            }
        });
    }

    /// Loops running (each supervised loop counts once).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Asks every loop to stop and waits up to `grace` for them to finish;
    /// the ones still running then are aborted.
    pub async fn shutdown(mut self, grace: Duration) {
        self.shutdown.cancel();
        let finished =
            tokio::time::timeout(grace, async { while self.tasks.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            tracing::warn!(
                left = self.tasks.len(),
                "background tasks did not stop within the grace period; aborting them"
            );
            self.tasks.shutdown().await;
        }
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits `duration`, or until shutdown; `false` when shutting down.
pub async fn pause(shutdown: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(duration) => true,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_panicking_loop_starts_again_and_shutdown_stops_every_loop() {
        let mut background = Background::new();
        let starts = Arc::new(AtomicUsize::new(0));
        let counter = starts.clone();
        background.supervise("flaky", move |shutdown| {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first start fails");
                }
                shutdown.cancelled().await;
            }
        });
        background.supervise("steady", |shutdown| async move {
            while pause(&shutdown, Duration::from_millis(5)).await {}
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while starts.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            starts.load(Ordering::SeqCst),
            2,
            "the loop was started again after its panic"
        );
        assert_eq!(background.len(), 2);
        tokio::time::timeout(
            Duration::from_secs(2),
            background.shutdown(Duration::from_secs(1)),
        )
        .await
        .expect("every loop stops on shutdown");
    }

    #[tokio::test]
    async fn a_loop_that_ignores_shutdown_is_aborted_after_the_grace_period() {
        let mut background = Background::new();
        background.supervise("stubborn", |_| async { std::future::pending::<()>().await });
        tokio::time::timeout(
            Duration::from_secs(2),
            background.shutdown(Duration::from_millis(50)),
        )
        .await
        .expect("shutdown returns after the grace period");
    }
}
