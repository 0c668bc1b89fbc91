//! `floor`: what one small write per delivery costs the kernel on loopback, with no server at
//! all. `--conns` connection pairs; one thread (pinned to `--writer-core`) writes
//! `--bytes`-byte frames to them in turn at `--rate` a second, in bursts every millisecond as a
//! room's broadcast does; another (pinned to `--reader-core`) reads them all, as the generator
//! does. The writing thread's CPU time per 1,000 writes is the least a server pays per delivery
//! when it sends each one as its own write, before any work of its own (BENCHMARKS.md, issue 23).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::io::AsyncReadExt;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connection pairs.
    pub conns: usize,
    /// Writes a second, over all connections.
    pub rate: u64,
    /// Bytes per write.
    pub bytes: usize,
    /// How long the writes go on.
    pub duration: Duration,
    /// The core of the writing thread (the server's, in run.sh).
    pub writer_core: usize,
    /// The core of the reading thread (the generator's).
    pub reader_core: usize,
}

/// What it measured.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// Writes made.
    pub writes: u64,
    /// Bytes the reader received (all of them, or the measurement says so).
    pub bytes_read: u64,
    /// Seconds the writes took.
    pub secs: f64,
    /// CPU seconds of the writing thread.
    pub writer_cpu_secs: f64,
    /// CPU seconds of the writing thread per 1,000 writes.
    pub cpu_per_1k: f64,
}

impl Floor {
    /// One line for people.
    pub fn human(&self) -> String {
        format!(
            "{} writes in {:.1} s ({:.0}/s), {} bytes read; writer CPU {:.2} s: {:.4} s per 1k writes\n",
            self.writes,
            self.secs,
            self.writes as f64 / self.secs.max(f64::EPSILON),
            self.bytes_read,
            self.writer_cpu_secs,
            self.cpu_per_1k
        )
    }
}

/// Opens the connections, writes for the duration, waits until every byte is read.
pub fn measure(o: &Options) -> Result<Floor> {
    anyhow::ensure!(
        o.conns > 0 && o.rate > 0 && o.bytes > 0,
        "nothing to measure"
    );
    raise_fd_limit();
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
    let addr = listener.local_addr()?;
    let mut senders = Vec::with_capacity(o.conns);
    let mut receivers = Vec::with_capacity(o.conns);
    for _ in 0..o.conns {
        let client =
            TcpStream::connect(addr).context("cannot connect (too few file descriptors?)")?;
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        client.set_nonblocking(true)?;
        senders.push(server);
        receivers.push(client);
    }
    let read = Arc::new(AtomicU64::new(0));
    let reader = {
        let (read, core) = (read.clone(), o.reader_core);
        std::thread::Builder::new()
            .name("floor-reader".into())
            .spawn(move || read_all(receivers, read, core))?
    };
    pin(o.writer_core);
    let frame = vec![0x82u8; o.bytes];
    let started = Instant::now();
    let cpu_before = thread_cpu();
    let mut writes = 0u64;
    let mut next = 0usize;
    while started.elapsed() < o.duration {
        let due = (started.elapsed().as_secs_f64() * o.rate as f64) as u64;
        while writes < due {
            senders[next].write_all(&frame)?;
            next = (next + 1) % senders.len();
            writes += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let writer_cpu_secs = thread_cpu() - cpu_before;
    let secs = started.elapsed().as_secs_f64();
    // Closing the writing ends ends every reader at its end of stream.
    drop(senders);
    match reader.join() {
        Ok(result) => result?,
        Err(_) => anyhow::bail!("the reading thread panicked"),
    }
    Ok(Floor {
        writes,
        bytes_read: read.load(Ordering::Relaxed),
        secs,
        writer_cpu_secs,
        cpu_per_1k: writer_cpu_secs / writes.max(1) as f64 * 1000.0,
    })
}

/// Reads every connection to its end on one thread, counting the bytes.
fn read_all(receivers: Vec<TcpStream>, read: Arc<AtomicU64>, core: usize) -> Result<()> {
    pin(core);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for stream in receivers {
            let stream = tokio::net::TcpStream::from_std(stream)?;
            let read = read.clone();
            tasks.spawn(async move {
                let mut stream = stream;
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    read.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    })
}

/// Keeps the calling thread on `core` (nothing if the core does not exist).
fn pin(core: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call reads it and changes only the
    // calling thread's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPU seconds the calling thread has used.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Raises the open-file limit to its hard limit: two descriptors per connection pair.
fn raise_fd_limit() {
    // SAFETY: plain reads and writes of an rlimit struct owned here.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_written_is_read_and_the_cpu_is_counted() {
        let floor = measure(&Options {
            conns: 8,
            rate: 2_000,
            bytes: 40,
            duration: Duration::from_millis(200),
            writer_core: 0,
            reader_core: 0,
        })
        .expect("measures");
        assert!(floor.writes > 0);
        assert_eq!(floor.bytes_read, floor.writes * 40);
        assert!(floor.writer_cpu_secs > 0.0);
    }
}
