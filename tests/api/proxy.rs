//! A TCP proxy in front of a real service (RabbitMQ, MongoDB), so a test can cut one application's connections (and
//! refuse new ones) without stopping the service that other tests use. It can also trip by itself: cut the moment
//! the client sends given bytes (for example the start of a MongoDB `insert` into one collection), which puts a
//! failure exactly between two steps of the service.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    open: AtomicBool,
    generation: watch::Sender<u64>,
    /// Client bytes that cut every connection when seen.
    trip: Mutex<Option<Vec<u8>>>,
}

impl Shared {
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }
}

impl Proxy {
    pub async fn start(target: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (generation, _) = watch::channel(0u64);
        let shared = Arc::new(Shared { open: AtomicBool::new(true), generation, trip: Mutex::new(None) });
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accepting.open.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else { return };
                    let mut cut = shared.generation.subscribe();
                    tokio::select! {
                        _ = pipe(inbound, outbound, &shared) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { port, shared }
    }

    /// Closes every proxied connection and refuses new ones.
    pub fn cut(&self) {
        self.shared.cut();
    }

    /// Accepts connections again (and forgets a trip pattern).
    pub fn restore(&self) {
        *self.shared.trip.lock().unwrap() = None;
        self.shared.open.store(true, Ordering::SeqCst);
    }

    /// Cuts everything, as [`Proxy::cut`], as soon as a client sends `pattern` (which is not forwarded).
    pub fn trip_on(&self, pattern: &[u8]) {
        *self.shared.trip.lock().unwrap() = Some(pattern.to_vec());
    }
}

/// Both directions; client bytes are watched for the trip pattern, across reads.
async fn pipe(inbound: TcpStream, outbound: TcpStream, shared: &Shared) {
    let (mut client_in, mut client_out) = inbound.into_split();
    let (mut server_in, mut server_out) = outbound.into_split();
    let upstream = async {
        let mut seen: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_in.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let pattern = shared.trip.lock().unwrap().clone();
            if let Some(pattern) = pattern {
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(pattern.len()).any(|w| w == pattern) {
                    shared.cut();
                    return;
                }
                let keep = seen.len().saturating_sub(pattern.len());
                seen.drain(..keep);
            }
            if server_out.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_in, &mut client_out).await;
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}
