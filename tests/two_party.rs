//! Two OS processes of the `garblet` binary over loopback TCP with TLS 1.3:
//! AES-128 with the key at the garbler and the plaintext at the evaluator,
//! checked against the FIPS-197 answer and RustCrypto's AES; a wrong peer
//! fingerprint, a different program, a killed peer and garbage on the socket
//! each end in a clean error.

use aes::cipher::{BlockEncrypt, KeyInit};
use garblet_testkit::hex;
use serde_json::Value;
use std::io::Write;
use std::process::Output;
use std::time::{Duration, Instant};
use support::{args, bin, free_port, keygen, shared, spawn, Scratch};

mod support;

/// Connects to a party that is about to listen on `addr`.
fn connect_when_listening(addr: &str) -> std::net::TcpStream {
    for _ in 0..250 {
        if let Ok(s) = std::net::TcpStream::connect(addr) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on {addr}");
}

struct Pair {
    garbler: Output,
    evaluator: Output,
}

fn run_pair(garbler: Vec<String>, evaluator: Vec<String>) -> Pair {
    let g = spawn(&garbler);
    let e = spawn(&evaluator);
    Pair { garbler: g.wait_with_output().unwrap(), evaluator: e.wait_with_output().unwrap() }
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn aes_pair(s: &Scratch, key: &[u8; 16], pt: &[u8; 16], g_peer: &str, e_peer: &str, timeout: &str) -> Pair {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let aes = shared("aes_128.txt");
    let (gid, eid) = (s.path("g"), s.path("e"));
    let mut g = args(&["run", &aes, "--as", "garbler", "--listen", &listen, "--json", "--timeout", timeout]);
    g.extend(args(&[
        "--input",
        &format!("in0={}", hex(key)),
        "--identity",
        gid.to_str().unwrap(),
        "--peer",
        g_peer,
    ]));
    g.extend(args(&["--audit-log", s.path("audit-g.jsonl").to_str().unwrap()]));
    let mut e =
        args(&["run", &aes, "--as", "evaluator", "--connect", &listen, "--json", "--timeout", timeout]);
    e.extend(args(&[
        "--input",
        &format!("in1={}", hex(pt)),
        "--identity",
        eid.to_str().unwrap(),
        "--peer",
        e_peer,
    ]));
    run_pair(g, e)
}

#[test]
fn aes_128_between_two_processes_over_tls() {
    let s = Scratch::new("aes");
    let gfp = keygen(&s.path("g"));
    let efp = keygen(&s.path("e"));
    let mut vectors = vec![(
        *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
        *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
    )];
    // Fresh random key and plaintext too, checked against RustCrypto's AES.
    let seed = Instant::now().elapsed().as_nanos() as u64 ^ u64::from(std::process::id());
    let mut x = seed | 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut key = [0u8; 16];
    let mut pt = [0u8; 16];
    for b in key.iter_mut().chain(pt.iter_mut()) {
        *b = rnd() as u8;
    }
    vectors.push((key, pt));
    for (key, pt) in vectors {
        let pair = aes_pair(&s, &key, &pt, &efp, &gfp, "20");
        let (g, e) = (json(&pair.garbler), json(&pair.evaluator));
        let mut block = aes::Block::clone_from_slice(&pt);
        aes::Aes128::new_from_slice(&key).unwrap().encrypt_block(&mut block);
        for v in [&g, &e] {
            assert_eq!(v["outputs"]["out0"].as_str().unwrap(), hex(&block));
            assert_eq!(v["stats"]["and_gates"], 6400);
            assert!(v["stats"]["bytes_sent"].as_u64().unwrap() > 0);
            assert!(v["stats"]["seconds"].as_f64().unwrap() > 0.0);
        }
        // Three-halves (the default) sends 24 bytes and 5 bits per AND.
        assert!(g["stats"]["bytes_sent"].as_u64().unwrap() >= 6400 * 24, "the tables cross the wire");
    }
    assert_eq!(hex(&[0x69, 0xc4]), "0x69c4");
    // The audit log: one line per run, no input values.
    let audit = std::fs::read_to_string(s.path("audit-g.jsonl")).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[0]["role"], "garbler");
    assert_eq!(lines[0]["peer"]["fingerprint_presented"], efp);
    assert_eq!(lines[0]["peer"]["fingerprint_expected"], efp);
    // What an auditor reads: who, what, with whom, when, how much, how it ended.
    let line = &lines[0];
    assert_eq!(line["garblet"], env!("CARGO_PKG_VERSION"));
    assert_eq!(line["program"]["path"], shared("aes_128.txt"));
    assert_eq!(line["program"]["circuit_digest"].as_str().unwrap().len(), 64);
    assert_eq!(line["program"]["file_blake3"].as_str().unwrap().len(), 64);
    assert!(line["peer"]["address"].as_str().unwrap().starts_with("127.0.0.1:"), "{line}");
    assert_eq!(line["inputs"][0], serde_json::json!({"name": "in0", "from": "garbler", "width": 128}));
    assert_eq!(line["inputs"][1], serde_json::json!({"name": "in1", "from": "evaluator", "width": 128}));
    assert_eq!(line["outputs_revealed"][0], serde_json::json!({"name": "out0", "to": "both", "width": 128}));
    for t in ["started", "ended"] {
        let stamp = line[t].as_str().unwrap();
        assert!(humantime::parse_rfc3339(stamp).is_ok(), "{t}: {stamp}");
    }
    assert!(line["duration_us"].as_u64().unwrap() > 0);
    // Three-halves (the default): at least 24 bytes per AND.
    assert!(line["bytes_sent"].as_u64().unwrap() >= 6400 * 24, "{line}");
    assert!(line["bytes_received"].as_u64().unwrap() > 0);
    assert!(!audit.contains("000102030405060708090a0b0c0d0e0f"), "no input value in the audit log");
}

#[test]
fn a_wrong_peer_fingerprint_is_refused_and_both_sides_say_which() {
    let s = Scratch::new("fp");
    let gfp = keygen(&s.path("g"));
    let efp = keygen(&s.path("e"));
    let stranger = "ab".repeat(32);
    // The garbler expects a stranger; the evaluator trusts the garbler.
    let pair = aes_pair(&s, &[1; 16], &[2; 16], &stranger, &gfp, "3");
    // The listener drops the connection, says why, and waits on until its
    // timeout.
    assert_eq!(pair.garbler.status.code(), Some(1));
    let err = String::from_utf8_lossy(&pair.garbler.stderr);
    assert!(
        err.contains(&format!(
            "the peer's certificate has fingerprint {efp}, but this run trusts only {stranger}"
        )),
        "{err}"
    );
    assert!(err.contains("no peer connected") && err.contains("refused 1 connection"), "{err}");
    // The refused side learns which fingerprint the other expects.
    assert_eq!(pair.evaluator.status.code(), Some(1));
    let err = String::from_utf8_lossy(&pair.evaluator.stderr);
    assert!(
        err.contains(&format!(
            "the peer refused our certificate (it expects fingerprint {stranger}; ours is {efp})"
        )),
        "{err}"
    );
    // The audit line records the fingerprint the peer presented.
    let audit = std::fs::read_to_string(s.path("audit-g.jsonl")).unwrap();
    let line: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(line["status"], "error");
    assert_eq!(line["strays_refused"], 1);
    assert!(line["strays"][0]["reason"].as_str().unwrap().contains(&efp), "{line}");
}

#[test]
fn tls_against_plain_tcp_is_named_on_both_sides() {
    let s = Scratch::new("plain");
    let gid = s.path("g");
    let gfp = keygen(&gid);
    let aes = shared("aes_128.txt");
    for tls_listens in [true, false] {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut g =
            args(&["run", &aes, "--as", "garbler", "--listen", &listen, "--timeout", "3", "-i", "in0=1"]);
        let mut e =
            args(&["run", &aes, "--as", "evaluator", "--connect", &listen, "--timeout", "3", "-i", "in1=2"]);
        let (secure, plain) = if tls_listens { (&mut g, &mut e) } else { (&mut e, &mut g) };
        secure.extend(args(&["--identity", gid.to_str().unwrap(), "--peer", &gfp]));
        plain.push("--insecure".into());
        let pair = run_pair(g, e);
        let (tls_side, plain_side) =
            if tls_listens { (&pair.garbler, &pair.evaluator) } else { (&pair.evaluator, &pair.garbler) };
        let tls_err = String::from_utf8_lossy(&tls_side.stderr);
        let plain_err = String::from_utf8_lossy(&plain_side.stderr);
        assert!(tls_err.contains("the peer speaks plain TCP: did it use --insecure?"), "{tls_err}");
        assert!(plain_err.contains("the peer speaks TLS: this side runs with --insecure"), "{plain_err}");
        assert_eq!(tls_side.status.code(), Some(1));
        assert_eq!(plain_side.status.code(), Some(1));
    }
}

#[test]
fn sigterm_and_ctrl_c_leave_an_interrupted_audit_line() {
    let s = Scratch::new("interrupt");
    // Last, with its stderr closed first (a reader that went away): the
    // handler's message cannot be written, and the process still stops.
    for (signal, closed) in [("TERM", false), ("INT", false), ("TERM", true)] {
        let audit = s.path(&format!("audit-{signal}-{closed}.jsonl"));
        let listen = format!("127.0.0.1:{}", free_port());
        let mut child = bin()
            .args(["run", &shared("aes_128.txt"), "--as", "garbler", "--listen", &listen, "--insecure"])
            .args(["-i", "in0=5", "--audit-log", audit.to_str().unwrap()])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Once it says it waits for the peer, interrupt it.
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        while !said.contains("waiting for the peer") {
            let mut line = String::new();
            assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "{said}");
            said.push_str(&line);
        }
        let stderr = (!closed).then_some(stderr);
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("SIG{signal} (stderr closed: {closed}): still running after 20 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(130), "{said}");
        if let Some(mut stderr) = stderr {
            std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
            assert!(said.contains("interrupted"), "{said}");
        }
        let text = std::fs::read_to_string(&audit).unwrap();
        let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(line["status"], "interrupted", "{line}");
        assert_eq!(line["role"], "garbler");
        for field in ["garblet", "started", "ended", "duration_us", "program", "inputs", "outputs_revealed"] {
            assert!(!line[field].is_null(), "{field} missing: {line}");
        }
    }
}

#[test]
fn a_bad_identity_is_a_usage_error_before_the_network() {
    let s = Scratch::new("identity");
    let (a, b) = (s.path("a"), s.path("b"));
    let afp = keygen(&a);
    keygen(&b);
    let mixed = s.path("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::copy(a.join("cert.pem"), mixed.join("cert.pem")).unwrap();
    std::fs::copy(b.join("key.pem"), mixed.join("key.pem")).unwrap();
    let aes = shared("aes_128.txt");
    let listen = format!("127.0.0.1:{}", free_port());
    for (dir, needle) in
        [(mixed, "key.pem is not the key of cert.pem"), (s.path("nowhere"), "no such directory")]
    {
        let started = Instant::now();
        let out = bin()
            .args(["run", &aes, "--as", "garbler", "--listen", &listen, "-i", "in0=1", "--peer", &afp])
            .args(["--identity", dir.to_str().unwrap(), "--timeout", "30"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("waiting for the peer"), "checked before listening: {err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn different_programs_are_refused_with_the_digest_message() {
    let s = Scratch::new("prog");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // Both circuits have in0/in1/out0 of the same widths; only the gates differ.
    let a = s.path("a.txt");
    let b = s.path("b.txt");
    std::fs::write(&a, "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 AND\n").unwrap();
    std::fs::write(&b, "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n").unwrap();
    let g = args(&[
        "run",
        a.to_str().unwrap(),
        "--as",
        "garbler",
        "--listen",
        &listen,
        "--insecure",
        "-i",
        "in0=1",
    ]);
    let e = args(&[
        "run",
        b.to_str().unwrap(),
        "--as",
        "evaluator",
        "--connect",
        &listen,
        "--insecure",
        "-i",
        "in1=1",
    ]);
    let pair = run_pair(g, e);
    for out in [&pair.garbler, &pair.evaluator] {
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("programs differ") && err.contains("digest"), "{err}");
    }
}

/// An evaluator (the library, in this test process) whose connection dies
/// after it has received `budget` bytes: the process vanishing at that point.
struct Dying {
    tcp: std::net::TcpStream,
    budget: usize,
    hang: bool,
}

impl std::io::Read for Dying {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            if self.hang {
                // Alive but silent: the garbler's timeout must end the run.
                std::thread::sleep(Duration::from_secs(30));
            }
            let _ = self.tcp.shutdown(std::net::Shutdown::Both);
            return Err(std::io::Error::other("simulated death"));
        }
        let n = buf.len().min(self.budget);
        let got = self.tcp.read(&mut buf[..n])?;
        self.budget -= got;
        Ok(got)
    }
}

impl Write for Dying {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

#[test]
fn a_peer_that_dies_at_any_phase_gives_a_clean_error_within_the_timeout() {
    use garblet::{Channel, PartyInputs};
    use std::io::Read;
    let aes = shared("aes_128.txt");
    let circuit = garblet::circuits::bristol::read_file(&aes).unwrap();
    // Received-byte budgets: inside the hello, inside the OT, inside the tables; then a silent peer.
    for (budget, hang) in [(20usize, false), (3_000, false), (100_000, false), (100_000, true)] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let g = args(&[
            "run",
            &aes,
            "--as",
            "garbler",
            "--listen",
            &listen,
            "--insecure",
            "--timeout",
            "3",
            "-i",
            "in0=5",
        ]);
        let garbler = spawn(&g);
        let tcp = connect_when_listening(&listen);
        let started = Instant::now();
        let evaluator_circuit = circuit.clone();
        let evaluator = std::thread::spawn(move || {
            let mut ch = Channel::new(Dying { tcp, budget, hang });
            let inputs = PartyInputs::new([("in1".to_string(), vec![false; 128])]);
            garblet::run_evaluator(&mut ch, &evaluator_circuit, &inputs, None).map(|_| ())
        });
        let out = garbler.wait_with_output().unwrap();
        let elapsed = started.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "budget {budget}, hang {hang}: {err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(elapsed < Duration::from_secs(8), "ended within the 3 s timeout (+ slack): {elapsed:?}");
        if !hang {
            assert!(evaluator.join().unwrap().is_err());
        }
        let _ = std::io::empty().read(&mut [0u8; 1]);
    }
}

#[test]
fn a_killed_evaluator_process_leaves_the_garbler_with_a_clean_error() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let sha = shared("sha256.txt");
    let block = format!("in0=0x{}", "00".repeat(64));
    let state = format!("in1=0x{}", "11".repeat(32));
    let g = args(&[
        "run",
        &sha,
        "--as",
        "garbler",
        "--listen",
        &listen,
        "--insecure",
        "--timeout",
        "5",
        "-i",
        &block,
    ]);
    let e = args(&[
        "run",
        &sha,
        "--as",
        "evaluator",
        "--connect",
        &listen,
        "--insecure",
        "--timeout",
        "5",
        "-i",
        &state,
    ]);
    let garbler = spawn(&g);
    let mut evaluator = spawn(&e);
    std::thread::sleep(Duration::from_millis(100));
    let _ = evaluator.kill();
    let _ = evaluator.wait();
    let started = Instant::now();
    let out = garbler.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "ended within the timeout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    // Either it finished before the kill or it failed cleanly.
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
    }
}

#[test]
fn garbage_on_the_socket_is_a_clean_error() {
    let s = Scratch::new("garbage");
    let gid = s.path("g");
    keygen(&gid);
    for tls in [false, true] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let aes = shared("aes_128.txt");
        let mut g =
            args(&["run", &aes, "--as", "garbler", "--listen", &listen, "--timeout", "5", "-i", "in0=7"]);
        if tls {
            g.extend(args(&["--identity", gid.to_str().unwrap(), "--peer", &"cd".repeat(32)]));
        } else {
            g.push("--insecure".into());
        }
        let garbler = spawn(&g);
        let mut sock = connect_when_listening(&listen);
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let _ = sock.write_all(&garbage);
        let out = garbler.wait_with_output().unwrap();
        drop(sock);
        assert_eq!(out.status.code(), Some(1), "tls={tls}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "tls={tls}: {err}");
        assert_eq!(err.trim_end().lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
        if tls {
            // Over TLS the garbage is a stray: dropped, and the wait goes on
            // until the timeout.
            assert!(err.contains("ignored a connection from 127.0.0.1"), "{err}");
        }
    }
}

#[test]
fn a_listener_survives_strays_until_its_peer_arrives() {
    let s = Scratch::new("strays");
    let (gid, eid) = (s.path("g"), s.path("e"));
    let (gfp, efp) = (keygen(&gid), keygen(&eid));
    let stranger = s.path("x");
    keygen(&stranger);
    let listen = format!("127.0.0.1:{}", free_port());
    let aes = shared("aes_128.txt");
    let mut g = args(&["run", &aes, "--as", "garbler", "--listen", &listen, "--json", "--timeout", "30"]);
    g.extend(args(&["-i", "in0=0x000102030405060708090a0b0c0d0e0f", "--identity", gid.to_str().unwrap()]));
    g.extend(args(&["--peer", &efp]));
    let garbler = spawn(&g);
    // An HTTP request, a port scan (connect and close), and a TLS peer with
    // the wrong certificate: none of them ends the wait.
    let mut http = connect_when_listening(&listen);
    let _ = http.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let _ = std::io::Read::read(&mut http, &mut [0u8; 64]);
    drop(std::net::TcpStream::connect(&listen).unwrap());
    let mut wrong = args(&["run", &aes, "--as", "evaluator", "--connect", &listen, "--timeout", "5"]);
    wrong.extend(args(&["-i", "in1=1", "--identity", stranger.to_str().unwrap(), "--peer", &gfp]));
    let refused = spawn(&wrong).wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&format!("it expects fingerprint {efp}")));
    // A client that trickles one byte every 500 ms holds its own handshake,
    // not the listener: the real peer gets through while it trickles.
    let mut trickler = connect_when_listening(&listen);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickling = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && trickler.write_all(&[0x16]).is_ok() {
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    // Then the real peer.
    let mut e = args(&["run", &aes, "--as", "evaluator", "--connect", &listen, "--json", "--timeout", "30"]);
    e.extend(args(&["-i", "in1=0x00112233445566778899aabbccddeeff", "--identity", eid.to_str().unwrap()]));
    e.extend(args(&["--peer", &gfp]));
    let started = Instant::now();
    let evaluator = spawn(&e).wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "the trickler did not hold the listener");
    let garbler = garbler.wait_with_output().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickling.join().unwrap();
    let err = String::from_utf8_lossy(&garbler.stderr);
    assert!(err.contains("waiting for the peer on 127.0.0.1"), "{err}");
    assert!(err.matches("ignored a connection from").count() >= 2, "{err}");
    for out in [&garbler, &evaluator] {
        assert_eq!(json(out)["outputs"]["out0"], "0x69c4e0d86a7b0430d8cdb78070b4c55a");
    }
}

#[test]
fn run_refuses_to_start_without_tls_or_insecure() {
    let out = bin()
        .args(["run", &shared("aes_128.txt"), "--as", "garbler", "--listen", "127.0.0.1:0", "-i", "in0=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--identity DIR and --peer"));
    // An input of the other party is refused before any connection.
    let out = bin()
        .args([
            "run",
            &shared("aes_128.txt"),
            "--as",
            "garbler",
            "--listen",
            "127.0.0.1:0",
            "--insecure",
            "-i",
            "in1=1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to the evaluator"));
}

#[test]
fn demo_runs_with_nothing_to_configure() {
    let out = bin().arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("learns result = true"), "{text}");
    assert!(text.contains("AND gates"), "{text}");
}

#[test]
fn programs_run_between_two_processes_with_json_inputs() {
    let s = Scratch::new("gbl");
    let program = format!("{}/examples/auction.gbl", env!("CARGO_MANIFEST_DIR"));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let g_inputs = s.path("g.json");
    std::fs::write(&g_inputs, r#"{"a": [10, 70, 30, 20]}"#).unwrap();
    let g = args(&["run", &program, "--as", "garbler", "--listen", &listen, "--insecure", "--json"]);
    let mut g = g;
    g.extend(args(&["--inputs", g_inputs.to_str().unwrap()]));
    let e = args(&[
        "run",
        &program,
        "--as",
        "evaluator",
        "--connect",
        &listen,
        "--insecure",
        "--json",
        "-i",
        "b=[40, 5, 60, 50]",
    ]);
    let pair = run_pair(g, e);
    let (gv, ev) = (json(&pair.garbler), json(&pair.evaluator));
    // Plaintext evaluation of the same program and inputs is the reference.
    let out = bin()
        .args(["eval", &program, "--json", "-i", "a=[10, 70, 30, 20]", "-i", "b=[40, 5, 60, 50]"])
        .output()
        .unwrap();
    let plain = json(&out);
    for v in [&gv, &ev] {
        if let Some(result) = v["outputs"].get("result") {
            assert_eq!(result, &plain["outputs"]["result"]);
        }
    }
    assert!(gv["outputs"].get("result").is_some() || ev["outputs"].get("result").is_some());
}

/// `--const` sets a program constant; the hello compares the values even
/// where the circuits agree, so parties that set different values are
/// refused, and parties that set the same run the program at that size.
#[test]
fn constants_set_on_the_command_line_are_compared_by_the_hello() {
    let s = Scratch::new("consts");
    let program = s.path("sum.gbl");
    std::fs::write(
        &program,
        "const N: usize = 2;\nconst RELEASE: u32 = 1; // not used by the circuit\n\
         fn main(#[garbler] a: [u32; N], #[evaluator] b: [u32; N]) -> u32 {\n\
             let mut s = 0u32;\n    for i in 0..N { s = s + a[i] * b[i]; }\n    s\n}\n",
    )
    .unwrap();
    let path = program.to_str().unwrap();
    let pair_with = |g_consts: &[&str], e_consts: &[&str]| {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut g = args(&["run", path, "--as", "garbler", "--listen", &listen, "--insecure", "--json"]);
        g.extend(args(&["-i", "a=[3, 5, 7]"]));
        let mut e = args(&["run", path, "--as", "evaluator", "--connect", &listen, "--insecure", "--json"]);
        e.extend(args(&["-i", "b=[11, 13, 17]"]));
        for c in g_consts {
            g.extend(args(&["--const", c]));
        }
        for c in e_consts {
            e.extend(args(&["--const", c]));
        }
        run_pair(g, e)
    };
    let same = pair_with(&["N=3", "RELEASE=7"], &["N=3", "RELEASE=7"]);
    for out in [&same.garbler, &same.evaluator] {
        assert_eq!(json(out)["outputs"]["result"], serde_json::json!(3 * 11 + 5 * 13 + 7 * 17));
    }
    // Same gates (RELEASE is unused), different values: refused.
    let differ = pair_with(&["N=3", "RELEASE=7"], &["N=3", "RELEASE=8"]);
    for (out, release) in [(&differ.garbler, 7), (&differ.evaluator, 8)] {
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("programs differ") && err.contains("--const"), "{err}");
        // Each side names the values it set, to compare with the other's.
        assert!(err.contains(&format!("(this side: --const N=3 --const RELEASE={release})")), "{err}");
    }
    // A different size: the inputs' widths differ, and each side names its values.
    let listen = format!("127.0.0.1:{}", free_port());
    let g = args(&["run", path, "--as", "garbler", "--listen", &listen, "--insecure", "--const", "N=3"]);
    let e = args(&["run", path, "--as", "evaluator", "--connect", &listen, "--insecure", "--const", "N=4"]);
    let sizes = run_pair(
        [g, args(&["-i", "a=[3, 5, 7]"])].concat(),
        [e, args(&["-i", "b=[11, 13, 17, 19]"])].concat(),
    );
    for (out, n) in [(&sizes.garbler, 3), (&sizes.evaluator, 4)] {
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("programs differ") && err.contains(&format!("(this side: --const N={n})")),
            "{err}"
        );
    }
    // A constant the program does not declare is a usage error, before the network.
    let out = bin().args(["stats", path, "--const", "M=1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--const M: the program has no `const M`"), "{err}");
    let out = bin().args(["stats", path, "--const", "N=5", "--json"]).output().unwrap();
    let stats: Value = json(&out);
    assert_eq!(stats["consts"]["N"], "5");
    assert_eq!(stats["inputs"][0]["width"], 160);
}

/// The cohort rule of a program (`cohort(count, K, value)`) is bound into
/// what the hello compares, next to the `--const` values: parties that
/// compile different `K` are refused, and so are parties whose gates agree
/// but whose rules do not; with the same `K` the guard releases the
/// sentinel below it.
#[test]
fn cohort_rules_are_compared_by_the_hello_with_the_constants() {
    let s = Scratch::new("cohort");
    let guarded = s.path("guarded.gbl");
    std::fs::write(
        &guarded,
        "const K: u32 = 50;\nfn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 { cohort(n, K, v) }\n",
    )
    .unwrap();
    // No guard; with K = 0 the guard above always releases: the same gates.
    let plain = s.path("plain.gbl");
    std::fs::write(
        &plain,
        "const K: u32 = 50;\nfn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 { v }\n",
    )
    .unwrap();
    let (guarded, plain) = (guarded.to_str().unwrap(), plain.to_str().unwrap());
    let stats = |path: &str, k: &str| {
        let out = bin().args(["stats", path, "--json", "--const", k]).output().unwrap();
        json(&out)
    };
    let (g0, p0) = (stats(guarded, "K=0"), stats(plain, "K=0"));
    assert_eq!(g0["digest"], p0["digest"], "the same circuit");
    assert_eq!(g0["cohort"]["at_least"], 0);
    assert_eq!(p0["cohort"], Value::Null);
    assert_eq!(stats(guarded, "K=50")["cohort"]["at_least"], 50);
    let text = bin().args(["stats", guarded]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("cohort     guard: result released only when count >= 50, else every bit set"),
        "{text}"
    );

    let pair = |g_file: &str, g_k: &str, e_file: &str, e_k: &str, n: u32| {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut g = args(&["run", g_file, "--as", "garbler", "--listen", &listen, "--insecure", "--json"]);
        g.extend(args(&["-i", "v=1234", "--const", g_k]));
        let mut e = args(&["run", e_file, "--as", "evaluator", "--connect", &listen, "--insecure", "--json"]);
        e.extend(args(&["-i", &format!("n={n}"), "--const", e_k]));
        run_pair(g, e)
    };
    // The same K: the value at K, the sentinel below.
    let at = pair(guarded, "K=50", guarded, "K=50", 50);
    let below = pair(guarded, "K=50", guarded, "K=50", 49);
    for out in [&at.garbler, &at.evaluator] {
        assert_eq!(json(out)["outputs"]["result"], 1234);
    }
    for out in [&below.garbler, &below.evaluator] {
        assert_eq!(json(out)["outputs"]["result"], u32::MAX);
    }
    // Different K; the same gates under different rules: refused.
    for differ in [pair(guarded, "K=50", guarded, "K=40", 60), pair(guarded, "K=0", plain, "K=0", 60)] {
        for out in [&differ.garbler, &differ.evaluator] {
            assert_eq!(out.status.code(), Some(1));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("programs differ") && err.contains("cohort rules"), "{err}");
        }
    }
}

/// One party loads the shared AES-128 Bristol file, the other its binary
/// conversion: the hello's digests agree, and both learn the FIPS-197
/// answer.
#[test]
fn a_bristol_party_and_a_binary_party_run_together() {
    let s = Scratch::new("binary");
    let aes = shared("aes_128.txt");
    let converted = s.path("aes.bin");
    let out = bin().args(["convert", &aes, "--format", "binary", "-o", converted.to_str().unwrap()]).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listen = format!("127.0.0.1:{}", free_port());
    let (key, pt) = ("0x000102030405060708090a0b0c0d0e0f", "0x00112233445566778899aabbccddeeff");
    let g = args(&["run", &aes, "--as", "garbler", "--listen", &listen, "--insecure", "--json", "-i"]);
    let mut g = g;
    g.push(format!("in0={key}"));
    let mut e = args(&["run", converted.to_str().unwrap(), "--as", "evaluator", "--connect", &listen]);
    e.extend(args(&["--insecure", "--json", "-i", &format!("in1={pt}")]));
    let pair = run_pair(g, e);
    for v in [json(&pair.garbler), json(&pair.evaluator)] {
        assert_eq!(v["outputs"]["out0"], "0x69c4e0d86a7b0430d8cdb78070b4c55a");
    }
}

/// `--scheme`: AES-128 between two processes under each scheme and both
/// security modes gives the FIPS-197 answer; peers that chose different
/// schemes both stop with a one-line error naming the two.
#[test]
fn schemes_are_chosen_with_scheme_and_must_match() {
    let aes = shared("aes_128.txt");
    let key = "0x000102030405060708090a0b0c0d0e0f";
    let pt = "0x00112233445566778899aabbccddeeff";
    let party = |listen: &str, role: &str, scheme: &str, security: &str| {
        let (flag, input) = if role == "garbler" {
            ("--listen", format!("in0={key}"))
        } else {
            ("--connect", format!("in1={pt}"))
        };
        args(&[
            "run",
            &aes,
            "--as",
            role,
            flag,
            listen,
            "--insecure",
            "--json",
            "--scheme",
            scheme,
            "--security",
            security,
            "--input",
            &input,
        ])
    };
    for (scheme, security) in
        [("three-halves", "semi-honest"), ("three-halves", "dualex"), ("half-gates", "dualex")]
    {
        let listen = format!("127.0.0.1:{}", free_port());
        let pair = run_pair(
            party(&listen, "garbler", scheme, security),
            party(&listen, "evaluator", scheme, security),
        );
        for out in [&pair.garbler, &pair.evaluator] {
            let v = json(out);
            let text = v["outputs"]["out0"].to_string();
            assert!(text.contains("69c4e0d86a7b0430d8cdb78070b4c55a"), "{scheme} {security}: {text}");
        }
    }
    let listen = format!("127.0.0.1:{}", free_port());
    let pair = run_pair(
        party(&listen, "garbler", "half-gates", "semi-honest"),
        party(&listen, "evaluator", "three-halves", "semi-honest"),
    );
    for (out, ours, theirs) in
        [(&pair.garbler, "half-gates", "three-halves"), (&pair.evaluator, "three-halves", "half-gates")]
    {
        assert!(!out.status.success());
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(all.contains(&format!("garbling scheme {ours} here, {theirs} at the peer")), "{all}");
    }
}

/// `--ot`: AES-128 (128 evaluator input bits: the OT extension) between two
/// processes with IKNP gives the FIPS-197 answer (the default, SoftSpokenOT,
/// is what every other run uses); peers that chose different extensions
/// both stop with a one-line error naming the two.
#[test]
fn ot_extensions_are_chosen_with_ot_and_must_match() {
    let aes = shared("aes_128.txt");
    let key = "0x000102030405060708090a0b0c0d0e0f";
    let pt = "0x00112233445566778899aabbccddeeff";
    let party = |listen: &str, role: &str, ot: Option<&str>| {
        let (flag, input) = if role == "garbler" {
            ("--listen", format!("in0={key}"))
        } else {
            ("--connect", format!("in1={pt}"))
        };
        let mut a =
            args(&["run", &aes, "--as", role, flag, listen, "--insecure", "--json", "--input", &input]);
        if let Some(ot) = ot {
            a.extend(args(&["--ot", ot]));
        }
        a
    };
    let listen = format!("127.0.0.1:{}", free_port());
    let pair = run_pair(party(&listen, "garbler", Some("iknp")), party(&listen, "evaluator", Some("iknp")));
    for out in [&pair.garbler, &pair.evaluator] {
        let text = json(out)["outputs"]["out0"].to_string();
        assert!(text.contains("69c4e0d86a7b0430d8cdb78070b4c55a"), "iknp: {text}");
    }
    let listen = format!("127.0.0.1:{}", free_port());
    let pair = run_pair(party(&listen, "garbler", Some("iknp")), party(&listen, "evaluator", None));
    for (out, ours, theirs) in
        [(&pair.garbler, "iknp", "softspoken"), (&pair.evaluator, "softspoken", "iknp")]
    {
        assert!(!out.status.success());
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(all.contains(&format!("OT extension {ours} here, {theirs} at the peer")), "{all}");
    }
}

/// A result whose audit line cannot be written is withheld: the evaluator's
/// log is `/dev/full` (opens, every write fails), so it exits 1 with the
/// reason and prints no result, while the garbler, whose log works, prints
/// its own.
#[test]
fn a_result_whose_audit_line_cannot_be_written_is_withheld() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("no /dev/full here: not tested");
        return;
    }
    let program = format!("{}/examples/millionaires.gbl", env!("CARGO_MANIFEST_DIR"));
    let listen = format!("127.0.0.1:{}", free_port());
    let g = args(&["run", &program, "--as", "garbler", "--listen", &listen, "--insecure", "-i", "alice=5"]);
    let e = args(&[
        "run",
        &program,
        "--as",
        "evaluator",
        "--connect",
        &listen,
        "--insecure",
        "-i",
        "bob=4",
        "--audit-log",
        "/dev/full",
    ]);
    let pair = run_pair(g, e);
    assert!(pair.garbler.status.success(), "{}", String::from_utf8_lossy(&pair.garbler.stderr));
    assert!(String::from_utf8_lossy(&pair.garbler.stdout).contains("true"));
    assert_eq!(pair.evaluator.status.code(), Some(1));
    let err = String::from_utf8_lossy(&pair.evaluator.stderr);
    assert!(err.contains("its audit line could not be written, so its result is withheld"), "{err}");
    assert!(pair.evaluator.stdout.is_empty(), "{}", String::from_utf8_lossy(&pair.evaluator.stdout));
}
