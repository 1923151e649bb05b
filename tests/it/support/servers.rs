//! Real storage servers on loopback, for the round trips of
//! `tests/it/real_storage.rs`. The pod harness shares the host's network
//! namespace, so a server on 127.0.0.1 is reachable from the mover pods.
//!
//! Each server starts on a free loopback port in its own process group,
//! is waited for until it accepts connections, and is killed with its whole
//! group when the [`Server`] is dropped. A missing binary fails the test and
//! says what installs it (`.ci/install-tools`); nothing is skipped.

#![allow(dead_code)]

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed (with every process it started) on drop.
pub struct Server {
    name: String,
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `command` (which must listen on `port`) and waits until the
    /// port accepts connections. Its output goes to `<dir>/<name>.log`.
    fn start(name: &str, dir: &Path, port: u16, command: &mut Command) -> Server {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("server log");
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let mut server = Server {
            name: name.to_owned(),
            child,
            port,
            log,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "{} exited ({status}) before it listened on port {}:\n{}",
                    self.name,
                    self.port,
                    self.log()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on port {} within 60 s:\n{}",
                self.name,
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The whole process group: socat's and sshd's forked children too.
        let _ = Command::new("/usr/bin/kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("bind a loopback port")
        .local_addr()
        .expect("local address")
        .port()
}

/// A server binary: on PATH or in the sbin directories. Missing, the test
/// fails and says what installs it.
pub fn require_binary(name: &str, installed_by: &str) -> PathBuf {
    super::requires::find_tool(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed, and this test needs it: run `.ci/install-tools` \
             (it installs {installed_by})."
        )
    })
}

fn run_ok(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A private certificate authority and one server certificate it signed,
/// made with `openssl` for this test only.
pub struct Tls {
    /// The CA certificate (PEM): what a plan's `customCA` carries.
    pub ca_pem: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Tls {
    /// A CA and a certificate for 127.0.0.1 and the given DNS names.
    pub fn new(dir: &Path, dns_names: &[&str]) -> Tls {
        let openssl = require_binary("openssl", "openssl (Debian)");
        std::fs::create_dir_all(dir).expect("tls dir");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        run_ok(
            Command::new(&openssl)
                .current_dir(dir)
                .args(["req", "-x509", "-nodes", "-days", "2"])
                .args(ec)
                .args(["-keyout", "ca.key", "-out", "ca.pem"])
                .args(["-subj", "/CN=kopiaplan test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        );
        run_ok(
            Command::new(&openssl)
                .current_dir(dir)
                .args(["req", "-nodes"])
                .args(ec)
                .args(["-keyout", "server.key", "-out", "server.csr"])
                .args(["-subj", "/CN=127.0.0.1"]),
        );
        let mut san = String::from("subjectAltName=IP:127.0.0.1");
        for name in dns_names {
            san += &format!(",DNS:{name}");
        }
        std::fs::write(
            dir.join("server.ext"),
            format!("{san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"),
        )
        .expect("extensions");
        run_ok(
            Command::new(&openssl)
                .current_dir(dir)
                .args(["x509", "-req", "-days", "2", "-in", "server.csr"])
                .args(["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"])
                .args(["-out", "server.pem", "-extfile", "server.ext"]),
        );
        Tls {
            ca_pem: std::fs::read_to_string(dir.join("ca.pem")).expect("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}

/// gofakes3 (Go module `github.com/johannesboyne/gofakes3`, its own
/// `cmd/gofakes3`), plain HTTP, objects in memory. (Its `fs` backend
/// answers a listing under a prefix that has no object yet with "the
/// bucket does not exist", which Kopia, rightly, takes as an error.)
pub fn s3(dir: &Path, bucket: &str) -> Server {
    let binary = require_binary("gofakes3", "gofakes3 v1.2.0 from the Go module proxy");
    let port = free_port();
    Server::start(
        "gofakes3",
        dir,
        port,
        Command::new(binary)
            .arg(format!("-host=127.0.0.1:{port}"))
            .arg("-backend=memory")
            .arg(format!("-initialbucket={bucket}")),
    )
}

/// The keys of every object an [`s3`] server holds in `bucket`, listed
/// through its S3 API.
pub fn s3_objects(server: &Server, bucket: &str) -> Vec<String> {
    let curl = require_binary("curl", "curl (Debian)");
    let xml = run_ok(Command::new(curl).arg("-sSf").arg(format!(
        "http://{}/{bucket}?max-keys=100000",
        server.address()
    )));
    assert!(
        !xml.contains("<IsTruncated>true</IsTruncated>"),
        "the listing is truncated:\n{xml}"
    );
    let mut keys: Vec<String> = xml
        .split("<Key>")
        .skip(1)
        .map(|s| s.split("</Key>").next().expect("key").to_owned())
        .collect();
    keys.sort();
    keys
}

/// HTTPS in front of a plain server: `socat` (Debian) terminates TLS with
/// `tls`'s certificate and forwards each connection to `backend_port`.
pub fn tls_proxy(dir: &Path, backend_port: u16, tls: &Tls) -> Server {
    let binary = require_binary("socat", "socat (Debian)");
    let port = free_port();
    Server::start(
        "socat-tls",
        dir,
        port,
        Command::new(binary)
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},verify=0",
                tls.cert.display(),
                tls.key.display()
            ))
            .arg(format!("TCP:127.0.0.1:{backend_port}")),
    )
}

/// OpenSSH's sshd (Debian `openssh-server`) with its own configuration:
/// key authentication only, for `root`, serving SFTP.
pub struct Sshd {
    pub server: Server,
    /// The client's private key (OpenSSH format): the Secret's SFTP_KEY_FILE.
    pub client_key: String,
    /// The server's public host key, `<type> <base64>`.
    pub host_key: String,
    /// `[127.0.0.1]:PORT <host key>`: the Secret's SFTP_KNOWN_HOSTS.
    pub known_hosts: String,
}

pub fn sshd(dir: &Path) -> Sshd {
    let binary = require_binary("sshd", "openssh-server (Debian)");
    let keygen = require_binary("ssh-keygen", "openssh-client (Debian)");
    std::fs::create_dir_all(dir).expect("sshd dir");
    for key in ["host_key", "client_key"] {
        let _ = std::fs::remove_file(dir.join(key));
        run_ok(
            Command::new(&keygen)
                .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
                .arg(dir.join(key)),
        );
    }
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).expect("authorized");
    let port = free_port();
    std::fs::write(
        dir.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\n\
             PidFile {dir}/sshd.pid\nAuthorizedKeysFile {dir}/authorized_keys\n\
             PermitRootLogin prohibit-password\nPubkeyAuthentication yes\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nAllowUsers root\nSubsystem sftp internal-sftp\n",
            dir = dir.display()
        ),
    )
    .expect("sshd_config");
    // sshd's privilege separation directory.
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    let host_key = std::fs::read_to_string(dir.join("host_key.pub")).expect("host key");
    let host_key = host_key
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let server = Server::start(
        "sshd",
        dir,
        port,
        Command::new(binary)
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config")),
    );
    Sshd {
        server,
        client_key: std::fs::read_to_string(dir.join("client_key")).expect("client key"),
        known_hosts: format!("[127.0.0.1]:{port} {host_key}\n"),
        host_key,
    }
}

/// `rclone serve webdav` (Debian `rclone`) of `root`, with basic
/// authentication, over HTTPS when `tls` is given.
pub fn webdav(dir: &Path, root: &Path, user: &str, password: &str, tls: Option<&Tls>) -> Server {
    let binary = require_binary("rclone", "rclone (Debian)");
    let port = free_port();
    std::fs::create_dir_all(root).expect("webdav root");
    let config = dir.join("rclone-server.conf");
    std::fs::write(&config, "").expect("rclone config");
    let mut command = Command::new(binary);
    command
        .args(["serve", "webdav"])
        .arg(root)
        .arg(format!("--addr=127.0.0.1:{port}"))
        .arg(format!("--user={user}"))
        .arg(format!("--pass={password}"))
        .arg(format!("--config={}", config.display()))
        .arg(format!(
            "--cache-dir={}",
            dir.join("rclone-cache").display()
        ));
    if let Some(tls) = tls {
        command
            .arg(format!("--cert={}", tls.cert.display()))
            .arg(format!("--key={}", tls.key.display()));
    }
    Server::start("rclone-webdav", dir, port, &mut command)
}

/// rclone's obscured form of a password, as its config files hold them.
pub fn rclone_obscure(password: &str) -> String {
    let binary = require_binary("rclone", "rclone (Debian)");
    run_ok(Command::new(binary).args(["obscure", password]))
        .trim()
        .to_owned()
}

/// fake-gcs-server (Go module `github.com/fsouza/fake-gcs-server`), plain
/// HTTP, objects as files under `<dir>/store/<bucket>/`.
pub fn gcs(dir: &Path, bucket: &str) -> Server {
    let binary = require_binary(
        "fake-gcs-server",
        "fake-gcs-server v1.56.1 from the Go module proxy",
    );
    let port = free_port();
    let store = dir.join("store");
    // A directory below the root is a bucket of the filesystem backend.
    std::fs::create_dir_all(store.join(bucket)).expect("gcs store");
    Server::start(
        "fake-gcs-server",
        dir,
        port,
        Command::new(binary)
            .args(["-scheme", "http", "-host", "127.0.0.1"])
            .arg("-port")
            .arg(port.to_string())
            .arg("-public-host")
            .arg(format!("127.0.0.1:{port}"))
            .args(["-backend", "filesystem", "-filesystem-root"])
            .arg(&store),
    )
}

/// Azurite's blob service (npm `azurite`), over HTTPS with `tls`'s
/// certificate; data under `<dir>/store`.
pub fn azurite(dir: &Path, tls: &Tls) -> Server {
    let binary = require_binary("azurite-blob", "azurite (npm)");
    let port = free_port();
    let store = dir.join("store");
    std::fs::create_dir_all(&store).expect("azurite store");
    Server::start(
        "azurite",
        dir,
        port,
        Command::new(binary)
            .args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(port.to_string())
            .arg("--location")
            .arg(&store)
            .arg("--cert")
            .arg(&tls.cert)
            .arg("--key")
            .arg(&tls.key)
            .args([
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
            ]),
    )
}

/// Every file below `dir`, as paths relative to it, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("below root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The Prometheus Pushgateway (Go module `github.com/prometheus/pushgateway`
/// v1.11.1), metrics in memory, on loopback.
pub fn pushgateway(dir: &Path) -> Server {
    let binary = require_binary("pushgateway", "the Pushgateway from the Go module proxy");
    let port = free_port();
    Server::start(
        "pushgateway",
        dir,
        port,
        Command::new(binary).arg(format!("--web.listen-address=127.0.0.1:{port}")),
    )
}
