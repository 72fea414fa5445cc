//! The replica stack `scripts/replicas.sh` brings up (issue 13): two `darkroom-host`
//! processes on one Redis behind haproxy. `DARKROOM_REPLICAS` names its `stack.json`:
//! the balancer's URL, haproxy's stats socket, the Redis URL, and per replica its direct
//! URL, pid file and log. Each replica runs under a supervisor that restarts it when it
//! dies (as the kubelet restarts a container), writing the new pid to its pid file.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::Client;
use crate::kvcheck::KvFile;
use crate::target::notice;

/// The variable naming the stack's `stack.json`.
pub const ENV: &str = "DARKROOM_REPLICAS";

/// The haproxy backend the replicas sit in.
const BACKEND: &str = "replicas";

/// The running stack.
pub struct Stack {
    /// A client for the balancer: every request of the suite goes through it.
    pub balancer: Client,
    pub replicas: Vec<Replica>,
    stats_socket: PathBuf,
    state_dir: PathBuf,
}

/// One replica: a `darkroom-host` process under its supervisor.
pub struct Replica {
    /// `r1`, `r2`: haproxy's server names.
    pub name: String,
    /// Its own listener, bypassing the balancer.
    pub url: String,
    pid_file: PathBuf,
    log: PathBuf,
}

/// The stack from `DARKROOM_REPLICAS`, or `None` after saying why `test` is skipped.
pub fn stack(test: &str) -> Option<Stack> {
    let Some(file) = std::env::var_os(ENV).filter(|v| !v.is_empty()) else {
        notice(&format!(
            "e2e: SKIPPED {test}: no replica stack ({ENV} is unset); `./test.sh --replicas` \
             (scripts/replicas.sh) brings one up and runs this suite"
        ));
        return None;
    };
    Some(Stack::load(&PathBuf::from(file)).unwrap_or_else(|e| panic!("{ENV}: {e:#}")))
}

impl Stack {
    fn load(file: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let v: Value = serde_json::from_str(&text)?;
        let s = |v: &Value, k: &str| -> anyhow::Result<String> {
            v[k].as_str().map(str::to_owned).with_context(|| format!("{}: no {k:?}", file.display()))
        };
        let replicas = v["replicas"]
            .as_array()
            .context("no replicas")?
            .iter()
            .map(|r| {
                Ok(Replica {
                    name: s(r, "name")?,
                    url: s(r, "url")?,
                    pid_file: s(r, "pid_file")?.into(),
                    log: s(r, "log")?.into(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if replicas.len() < 2 {
            bail!("the stack has {} replica(s); the suite needs two", replicas.len());
        }
        Ok(Self {
            balancer: Client::new(s(&v, "balancer")?),
            replicas,
            stats_socket: s(&v, "stats_socket")?.into(),
            state_dir: s(&v, "state_dir")?.into(),
        })
    }

    /// The shared store, read directly (the stack dir holds its `runtime-config.toml`).
    pub fn kv(&self) -> KvFile {
        KvFile::new(&self.state_dir)
    }

    pub fn replica(&self, name: &str) -> &Replica {
        self.replicas.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no replica {name}"))
    }

    /// One command on haproxy's stats socket; its answer.
    pub fn haproxy(&self, command: &str) -> String {
        let mut socket = UnixStream::connect(&self.stats_socket)
            .unwrap_or_else(|e| panic!("haproxy stats socket {}: {e}", self.stats_socket.display()));
        socket.write_all(format!("{command}\n").as_bytes()).expect("writing to haproxy's socket");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).expect("reading haproxy's answer");
        answer
    }

    /// `show stat` for the replicas: server name -> column -> value (haproxy's CSV).
    pub fn stats(&self) -> HashMap<String, HashMap<String, String>> {
        let csv = self.haproxy("show stat");
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").trim_start_matches("# ").split(',').collect();
        let mut servers = HashMap::new();
        for line in lines {
            let row: HashMap<String, String> =
                header.iter().zip(line.split(',')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let server = row.get("svname").cloned().unwrap_or_default();
            if row.get("pxname").map(String::as_str) == Some(BACKEND) && server != "BACKEND" {
                servers.insert(server, row);
            }
        }
        servers
    }

    /// Requests haproxy has sent to each replica so far (`stot`).
    pub fn sessions(&self) -> HashMap<String, u64> {
        self.stats()
            .into_iter()
            .map(|(name, row)| (name, row.get("stot").and_then(|v| v.parse().ok()).unwrap_or(0)))
            .collect()
    }

    /// Takes `replica` out of the rotation (new requests go to the others) or back in:
    /// `disable`/`enable server`, as a readiness probe flips a pod's endpoint.
    pub fn set_in_rotation(&self, replica: &str, on: bool) {
        let verb = if on { "enable" } else { "disable" };
        let answer = self.haproxy(&format!("{verb} server {BACKEND}/{replica}"));
        assert!(answer.trim().is_empty(), "haproxy: {verb} server {replica}: {answer}");
    }

    /// Waits (up to a minute) until haproxy's health checks see every replica `UP`.
    pub fn wait_all_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let stats = self.stats();
            let down: Vec<String> = self
                .replicas
                .iter()
                .filter(|r| stats.get(&r.name).and_then(|row| row.get("status")).is_none_or(|s| s != "UP"))
                .map(|r| r.name.clone())
                .collect();
            if down.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "replicas not UP in haproxy after a minute: {down:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Replica {
    /// The current process id (the supervisor rewrites it at each start).
    pub fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(&self.pid_file)
            .unwrap_or_else(|e| panic!("{}: {e}", self.pid_file.display()));
        text.trim().parse().unwrap_or_else(|e| panic!("{}: {text:?}: {e}", self.pid_file.display()))
    }

    /// SIGKILL: the process dies mid-whatever, as an OOM-killed or evicted pod does.
    pub fn kill(&self) -> u32 {
        let pid = self.pid();
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -KILL {pid} ({}) failed", self.name);
        notice(&format!("e2e: replicas: SIGKILL {} (pid {pid})", self.name));
        pid
    }

    /// Waits (up to a minute) until the supervisor has started a new process (not
    /// `old_pid`) and it answers its health check; returns the new pid.
    pub fn wait_restarted(&self, old_pid: u32) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        let health = Client::new(self.url.clone());
        loop {
            let pid = std::fs::read_to_string(&self.pid_file).ok().and_then(|t| t.trim().parse().ok());
            if let Some(pid) = pid.filter(|p| *p != old_pid)
                && health.try_get("/.well-known/spin/health").is_some_and(|r| r.status == 200)
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "{} did not come back after a minute (log {})", self.name, self.log.display());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Client requests this replica's host logged (`darkroom-host: METHOD PATH -> STATUS`)
    /// whose method and path start with `prefix` (e.g. `"POST /api/jobs/ID/units/"`),
    /// over every process it has run so far.
    pub fn logged(&self, prefix: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_else(|e| panic!("{}: {e}", self.log.display()));
        log.lines()
            .filter_map(|line| line.strip_prefix("darkroom-host: "))
            .filter(|line| line.starts_with(prefix))
            .count()
    }
}
