//! A private `redis-server` per test: 127.0.0.1, a free port, its own data dir, stopped on drop.
//!
//! Without a `redis-server` binary the Redis tests print `SKIP` and pass, unless `CI` or
//! `MODEI_REQUIRE_REDIS` is set, where they fail (CI installs it in `scripts/test.sh`).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("REDIS_SERVER") {
        return Some(PathBuf::from(p));
    }
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/bin", "/usr/sbin"])
    {
        let p = PathBuf::from(dir).join("redis-server");
        if p.is_file() {
            return Some(p);
        }
    }
    None
}

impl Server {
    /// Starts a server, or returns None (test skipped) when there is no redis-server.
    pub fn start() -> Option<Server> {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Option<Server> {
        if binary().is_none() {
            if std::env::var_os("CI").is_some() || std::env::var_os("MODEI_REQUIRE_REDIS").is_some()
            {
                panic!("redis-server is required (CI / MODEI_REQUIRE_REDIS) but was not found");
            }
            eprintln!("SKIP: no redis-server on PATH");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let dir =
            std::env::temp_dir().join(format!("modei-redis-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("data dir");
        let mut s = Server {
            child: None,
            port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        s.launch();
        Some(s)
    }

    fn launch(&mut self) {
        let bin = binary().expect("redis-server");
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("spawn redis-server"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(c) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = c.get_connection_with_timeout(Duration::from_millis(200)) {
                    if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server (SHUTDOWN, so it persists when persistence is configured).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(c) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = c.get_connection_with_timeout(Duration::from_millis(500)) {
                    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut conn);
                }
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data dir.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// A raw connection for inspecting keys.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Benches: calls of `op(thread, k)` per second over `secs` seconds with `threads` threads,
/// counting the calls that return true (`k` counts them per thread).
pub fn per_second(threads: usize, secs: u64, op: impl Fn(usize, u64) -> bool + Sync) -> f64 {
    let stop = Instant::now() + Duration::from_secs(secs);
    let t0 = Instant::now();
    let op = &op;
    let total: u64 = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|th| {
                sc.spawn(move || {
                    let mut k = 0u64;
                    while Instant::now() < stop {
                        if op(th, k) {
                            k += 1;
                        }
                    }
                    k
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / t0.elapsed().as_secs_f64()
}

/// Benches: seconds per throughput run, from `BENCH_SECS` (default 3).
pub fn bench_secs() -> u64 {
    std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// Benches: the `p` quantile of sorted durations.
pub fn pct(v: &[Duration], p: f64) -> Duration {
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}
