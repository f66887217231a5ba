//! A judge that misbehaves on purpose, one way per task id, to prove that
//! every limit holds and is named. Task `well-behaved` passes.

use std::hint::black_box;

use proctor_sdk::{Error, Judge, Task, Verdict, export};

struct Hostile;

#[allow(unconditional_recursion, reason = "runaway recursion is the point")]
fn recurse(depth: u64) -> u64 {
    black_box(recurse(black_box(depth + 1))) + 1
}

impl Judge for Hostile {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let mut v = Verdict::new();
        match task.id() {
            "infinite-loop" => {
                let mut n = 0u64;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "memory-bomb" => {
                let mut hoard = Vec::new();
                loop {
                    hoard.push(black_box(vec![7u8; 1 << 20]));
                }
            }
            "deep-recursion" => {
                v.pass("never", recurse(0).to_string());
            }
            "panic" => panic!("the judge gave up on purpose"),
            "abort" => std::process::abort(),
            "flood-output" => {
                // 100 MB to stdout.
                let line = "x".repeat(1 << 20);
                for _ in 0..100 {
                    println!("{line}");
                }
            }
            "flood-verdict" => {
                v.pass("huge", "y".repeat(8 << 20));
            }
            "many-calls" => {
                let m = task.machine();
                for _ in 0..1_000_000 {
                    let _ = black_box(m.run(["true"]));
                }
            }
            "escape" => {
                // Each attempt must fail: the sandbox grants no ambient authority.
                let files = std::fs::read_dir("/").map(|d| d.count());
                v.check("no_files", files.is_err(), format!("read_dir(\"/\") gave {files:?}"));
                let env: Vec<_> = std::env::vars().collect();
                v.check("no_env", env.is_empty(), format!("environment: {env:?}"));
                let net = std::net::TcpStream::connect("127.0.0.1:22");
                v.check("no_network", net.is_err(), format!("connect gave {net:?}"));
                let args: Vec<_> = std::env::args().collect();
                v.check("no_args", args.is_empty(), format!("arguments: {args:?}"));
            }
            "ungranted" => match task.machine().build_image("/workspace").run() {
                Err(Error::Denied(why)) => {
                    v.pass("denied", why);
                }
                other => {
                    v.fail("denied", format!("expected a denial, got {other:?}"));
                }
            },
            _ => {
                v.pass("fine", "well behaved");
            }
        }
        Ok(v)
    }
}

export!(judge: Hostile);
