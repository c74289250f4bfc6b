//! A Redis of a test's own, on a free port and without persistence (as `scripts/services.sh` runs the shared one),
//! so that a test can kill it and start it again empty without touching the Redis every other test uses.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::eventually;

pub struct OwnRedis {
    pub port: u16,
    process: Option<Child>,
}

/// Where each running one leaves its pid, so that `scripts/test-leftovers.sh` can stop those of a killed test run.
fn pid_file(port: u16) -> std::path::PathBuf {
    std::env::temp_dir().join("ds-agent-test-redis").join(format!("{port}.pid"))
}

impl OwnRedis {
    pub async fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = OwnRedis { port, process: None };
        redis.launch().await;
        redis
    }

    pub fn uri(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: nothing is saved) and starts it again, empty, on the same port after `down`.
    pub async fn restart_empty(&mut self, down: Duration) {
        self.kill();
        tokio::time::sleep(down).await;
        self.launch().await;
    }

    /// Kills it (SIGKILL) and leaves it down.
    pub fn stop(&mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
            let _ = std::fs::remove_file(pid_file(self.port));
        }
    }

    async fn launch(&mut self) {
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/services.sh)");
        let pid_file = pid_file(self.port);
        if let Some(dir) = pid_file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&pid_file, process.id().to_string());
        self.process = Some(process);
        let uri = self.uri();
        let up = eventually(Duration::from_secs(30), || async {
            let Ok(client) = redis::Client::open(uri.as_str()) else { return false };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return false };
            redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
        })
        .await;
        assert!(up, "redis-server answers on port {}", self.port);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
