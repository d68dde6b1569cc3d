//! The threads the engine runs on. Evaluations (estimates, materialization,
//! verification, lookalike scoring) are CPU-bound and can take seconds;
//! run on the async runtime they would stall every other request. Here
//! they queue per principal and are served round-robin, each principal
//! with at most half the threads, so two principals looping heavy
//! estimates cannot keep a third waiting for more than one evaluation.
//! The threads run at a lower CPU priority than the request threads, so a
//! membership lookup preempts an evaluation instead of waiting for a core.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use segment_contract::error::{AppError, AppResult};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queues {
    waiting: HashMap<String, VecDeque<Job>>,
    /// Keys with waiting jobs, in order of arrival.
    turn: VecDeque<String>,
    running: HashMap<String, usize>,
    /// When each busy key was last served (a counter): the least recently
    /// served eligible key goes first.
    last_served: HashMap<String, u64>,
    served: u64,
}

struct Shared {
    threads: usize,
    /// The threads start with the first job, so a pool that is configured
    /// and replaced before use costs nothing.
    started: std::sync::Once,
    queues: Mutex<Queues>,
    wake: Condvar,
    /// Evaluations one principal may run at once.
    per_key_running: usize,
    /// Evaluations one principal may have waiting.
    per_key_waiting: usize,
}

/// A bounded pool of engine threads with per-principal fairness.
#[derive(Clone)]
pub struct EnginePool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EnginePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnginePool").finish_non_exhaustive()
    }
}

/// How much lower the engine threads' priority is (a `nice` increment: the
/// lowest, so a request thread that wakes preempts an evaluation at once).
const NICENESS: i32 = 19;

impl EnginePool {
    /// Starts `threads` engine threads; `per_key_waiting` bounds each
    /// principal's queue (past it, requests are refused with 429).
    pub fn new(threads: usize, per_key_waiting: usize) -> EnginePool {
        let threads = threads.max(1);
        EnginePool {
            shared: Arc::new(Shared {
                threads,
                started: std::sync::Once::new(),
                queues: Mutex::new(Queues::default()),
                wake: Condvar::new(),
                per_key_running: (threads / 2).max(1),
                per_key_waiting: per_key_waiting.max(1),
            }),
        }
    }

    fn start(&self) {
        self.shared.started.call_once(|| {
            for n in 0..self.shared.threads {
                let shared = self.shared.clone();
                std::thread::Builder::new()
                    .name(format!("engine-{n}"))
                    .spawn(move || {
                        lower_priority();
                        serve(&shared);
                    })
                    .expect("start an engine thread");
            }
        });
    }

    /// Runs `work` on an engine thread as `key` (a principal, or a class of
    /// background work). With a `deadline`, gives up waiting after it with
    /// a 503: work that has not started yet then never starts.
    pub async fn run<T: Send + 'static>(
        &self,
        key: &str,
        deadline: Option<Duration>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        self.start();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let skip = abandoned.clone();
        let job: Job = Box::new(move || {
            if skip.load(Ordering::Relaxed) {
                return;
            }
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
            let _ = sender.send(outcome);
        });
        {
            let mut queues = self.shared.queues.lock().expect("engine queue lock");
            let waiting = queues.waiting.entry(key.to_string()).or_default();
            if waiting.len() >= self.shared.per_key_waiting {
                return Err(AppError::RateLimited(format!(
                    "{} evaluations of yours are already waiting; try again when they have finished.",
                    waiting.len()
                )));
            }
            waiting.push_back(job);
            if !queues.turn.iter().any(|k| k == key) {
                queues.turn.push_back(key.to_string());
            }
        }
        self.shared.wake.notify_one();
        let outcome = match deadline {
            None => receiver.await,
            Some(deadline) => match tokio::time::timeout(deadline, receiver).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    abandoned.store(true, Ordering::Relaxed);
                    return Err(AppError::Timeout(format!(
                        "The engine is busy and this did not finish within {} seconds; try again in a moment, or simplify the rule.",
                        deadline.as_secs_f64().ceil()
                    )));
                }
            },
        };
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => {
                tracing::error!(key, "an engine job panicked");
                Err(AppError::Internal)
            }
            Err(_) => {
                tracing::error!(key, "an engine job was dropped");
                Err(AppError::Internal)
            }
        }
    }
}

/// An engine thread: takes the next job in round-robin order among the
/// principals that are under their running limit.
fn serve(shared: &Shared) {
    loop {
        let (key, job) = {
            let mut queues = shared.queues.lock().expect("engine queue lock");
            loop {
                if let Some(next) = next_job(&mut queues, shared.per_key_running) {
                    break next;
                }
                queues = shared.wake.wait(queues).expect("engine queue lock");
            }
        };
        // A panic inside is caught by the job itself; the thread lives on.
        job();
        let mut queues = shared.queues.lock().expect("engine queue lock");
        if let Some(running) = queues.running.get_mut(&key) {
            *running -= 1;
            if *running == 0 {
                queues.running.remove(&key);
            }
        }
        // Idle keys are forgotten, so the history stays as small as the load.
        if !queues.running.contains_key(&key) && !queues.waiting.contains_key(&key) {
            queues.last_served.remove(&key);
        }
        drop(queues);
        // A principal that was at its limit may be eligible again.
        shared.wake.notify_all();
    }
}

fn next_job(queues: &mut Queues, per_key_running: usize) -> Option<(String, Job)> {
    let position = queues
        .turn
        .iter()
        .enumerate()
        .filter(|(_, key)| queues.running.get(*key).copied().unwrap_or(0) < per_key_running)
        .min_by_key(|(at, key)| (queues.last_served.get(*key).copied().unwrap_or(0), *at))
        .map(|(at, _)| at)?;
    let key = queues.turn.remove(position).expect("position is in range");
    let waiting = queues
        .waiting
        .get_mut(&key)
        .expect("keys in turn have waiting jobs");
    let job = waiting.pop_front().expect("keys in turn have waiting jobs");
    if waiting.is_empty() {
        queues.waiting.remove(&key);
    } else {
        queues.turn.push_back(key.clone());
    }
    *queues.running.entry(key.clone()).or_default() += 1;
    queues.served += 1;
    let served = queues.served;
    queues.last_served.insert(key.clone(), served);
    Some((key, job))
}

/// Lets the request threads preempt the engine (Linux sets `nice` per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own ID changes nothing else.
    #[allow(unsafe_code)]
    unsafe {
        // A thread ID is a positive pid_t, so it fits the unsigned id_t.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, thread, NICENESS) != 0 {
            tracing::warn!("could not lower the engine threads' priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A job that logs its start and then holds its thread until released.
    fn held(
        name: &'static str,
        log: &mpsc::Sender<&'static str>,
    ) -> (impl FnOnce() + Send + 'static, mpsc::Sender<()>) {
        let (release, released) = mpsc::channel::<()>();
        let log = log.clone();
        (
            move || {
                log.send(name).unwrap();
                let _ = released.recv();
            },
            release,
        )
    }

    #[tokio::test]
    async fn a_third_principal_is_served_before_two_busy_ones_are_served_again() {
        let pool = EnginePool::new(2, 8);
        let (log, started) = mpsc::channel();
        let mut releases = HashMap::new();
        let mut handles = Vec::new();
        for (key, name) in [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2"), ("c", "c1")] {
            let (job, release) = held(name, &log);
            releases.insert(name, release);
            let pool = pool.clone();
            handles.push(tokio::spawn(async move { pool.run(key, None, job).await }));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let next = || started.recv_timeout(Duration::from_secs(5)).unwrap();
        // Half the threads per principal: a and b run one job each, a2 and b2 wait.
        assert_eq!([next(), next()], ["a1", "b1"]);
        releases["a1"].send(()).unwrap();
        assert_eq!(
            next(),
            "c1",
            "c has not been served yet: it goes before a and b again"
        );
        releases["b1"].send(()).unwrap();
        assert_eq!(next(), "a2");
        releases["c1"].send(()).unwrap();
        assert_eq!(next(), "b2");
        for release in releases.values() {
            let _ = release.send(());
        }
        for handle in handles {
            handle.await.unwrap().unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadline_answers_503_and_a_full_queue_429() {
        let pool = EnginePool::new(1, 1);
        let (log, started) = mpsc::channel();
        let (job, release) = held("slow", &log);
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run("a", None, job).await })
        };
        assert_eq!(started.recv_timeout(Duration::from_secs(5)).unwrap(), "slow");
        // The one thread is busy: this one waits past its deadline.
        let waiting = pool.run("a", Some(Duration::from_millis(50)), || 1).await;
        assert!(matches!(waiting, Err(AppError::Timeout(_))), "{waiting:?}");
        // The abandoned job still holds the one waiting place until a thread drops it.
        let refused = pool.run("a", None, || 2).await;
        assert!(matches!(refused, Err(AppError::RateLimited(_))), "{refused:?}");
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        // The thread drops the abandoned job right after the slow one; until
        // then the waiting place may still be taken.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let after = loop {
            match pool.run("a", None, || 3).await {
                Err(AppError::RateLimited(_)) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                other => break other,
            }
        };
        assert_eq!(after.unwrap(), 3, "the pool lives on");
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_internal_error_and_the_thread_lives_on() {
        let pool = EnginePool::new(1, 4);
        let failed = pool.run("a", None, || -> u32 { panic!("engine bug") }).await;
        assert_eq!(failed.unwrap_err(), AppError::Internal);
        assert_eq!(pool.run("a", None, || 7).await.unwrap(), 7);
    }
}
