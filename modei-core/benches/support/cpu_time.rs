//! On-CPU time of the calling thread, for the examples that measure under load (other
//! processes' load does not count, unlike wall-clock time).

/// Nanoseconds this thread has run (Linux `CLOCK_THREAD_CPUTIME_ID`).
pub fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
