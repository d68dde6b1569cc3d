//! Where an evaluation uses more than one thread: large operations are split
//! in two on rayon's pool (whose size bounds the threads: the server's is
//! the machine's cores, a benchmark installs a pool of 1 or N); small ones
//! stay on the calling thread, where a split would cost more than it saves.

/// Entities (or rows) from which an operation is worth splitting. The unit
/// tests split everything, so every split path meets their scans.
#[cfg(not(test))]
pub(super) const SPLIT_FROM: u64 = 1 << 20;
#[cfg(test)]
pub(super) const SPLIT_FROM: u64 = 1;

/// `a` and `b`, side by side when `split`.
pub(super) fn join<A: Send, B: Send>(
    split: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if split && rayon::current_num_threads() > 1 {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Runs `f` on a pool of `threads` (kept per count, for tests comparing
/// one thread with several).
#[cfg(test)]
pub(super) fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let pool = POOLS
        .get_or_init(Mutex::default)
        .lock()
        .expect("pool lock")
        .entry(threads)
        .or_insert_with(|| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a pool"),
            )
        })
        .clone();
    pool.install(f)
}

/// `f` of every item, in order, spread over the pool when `split`.
pub(super) fn map<T: Sync, R: Send>(split: bool, items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    if split && items.len() > 1 && rayon::current_num_threads() > 1 {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

/// `f(i, piece)` for each `piece`-sized piece of `out` (the `i`-th), spread
/// over the pool when `split`.
pub(super) fn for_each_piece<T: Send>(
    split: bool,
    out: &mut [T],
    piece: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    use rayon::prelude::*;
    if split && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(piece).enumerate().for_each(|(i, p)| f(i, p));
    } else {
        out.chunks_mut(piece).enumerate().for_each(|(i, p)| f(i, p));
    }
}
